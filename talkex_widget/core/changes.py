"""Edits, deletes and reactions: the rules for changing a stored message, as pure functions.

Every history store applies a change the same way: it reads the message, calls
:func:`apply_change`, and writes the result under the room's next ``seq`` in one atomic step.
The rules live here, not in each store, so memory, SQLite and Redis cannot disagree on who may
do what; a store that retries an optimistic write (Redis) can call the function again safely.

The room's sequence: every new message and every change takes the next ``seq`` of its room, and
a message carries the ``seq`` of its latest change. "Everything after ``seq`` n" is then the
current state of each message touched since n, each once, in order: a client that reconnects
applies those states and has missed nothing, with no change applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from talkex_widget.core.messages import StoredMessage

__all__ = [
    "REACTIONS",
    "Change",
    "ChangeRefused",
    "Delete",
    "Edit",
    "React",
    "apply_change",
    "reaction",
]

REACTIONS = ("👍", "✅", "🎉", "👀", "❤️", "😄")
"""The reactions people can give, in the order the UI shows them. A small fixed set: a
reaction bar stays readable, and nothing arbitrary (or huge) is stored per message."""

_VARIATION_SELECTOR = "\ufe0f"


class ChangeRefused(Exception):
    """A change that the rules forbid; ``reason`` is the answer its sender gets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the body of one's own message (already checked by the room rules)."""

    body: str


@dataclass(frozen=True, slots=True)
class Delete:
    """Erase a message, leaving a tombstone; a moderator may delete anyone's."""

    moderator: bool = False


@dataclass(frozen=True, slots=True)
class React:
    """Toggle the actor's reaction ``emoji`` (one of :data:`REACTIONS`)."""

    emoji: str


Change = Edit | Delete | React


def reaction(value: object) -> str:
    """The canonical form of a reaction a client sent, or :class:`ChangeRefused`.

    ``❤`` without its variation selector counts as ``❤️``: keyboards send either.
    """
    if isinstance(value, str):
        for known in REACTIONS:
            if value.rstrip(_VARIATION_SELECTOR) == known.rstrip(_VARIATION_SELECTOR):
                return known
    shown = repr(value)[:20]
    raise ChangeRefused(f"unknown reaction {shown}; use one of {' '.join(REACTIONS)}")


def apply_change(message: StoredMessage, change: Change, actor: str, at: str) -> StoredMessage:
    """``message`` after ``actor`` made ``change`` at time ``at`` (ISO 8601 UTC).

    Returns ``message`` itself when nothing changes (an edit to the same body, a delete of a
    tombstone), so a store can skip the write and a retried push does not take a new ``seq``.
    The caller gives the result its ``seq``.
    """
    if isinstance(change, Delete):
        if message.author != actor and not change.moderator:
            raise ChangeRefused(f"message {message.id} is not yours; you can delete only yours")
        if message.deleted_at is not None:
            return message
        return replace(message, body="", content=None, deleted_at=at, reactions=())
    if message.deleted_at is not None:
        raise ChangeRefused(f"message {message.id} was deleted")
    if isinstance(change, Edit):
        if message.author != actor:
            raise ChangeRefused(f"message {message.id} is not yours; you can edit only yours")
        if message.content is not None:
            raise ChangeRefused(f"message {message.id} is a shared {message.kind}; only text edits")
        if change.body == message.body:
            return message
        return replace(message, body=change.body, edited_at=at)
    return replace(message, reactions=_toggle(message.reactions, change.emoji, actor))


def _toggle(
    reactions: tuple[tuple[str, tuple[str, ...]], ...], emoji: str, actor: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Add or remove ``actor`` under ``emoji``; emojis nobody gives any more disappear."""
    who = dict(reactions)
    people = who.get(emoji, ())
    who[emoji] = tuple(p for p in people if p != actor) if actor in people else (*people, actor)
    return tuple((e, who[e]) for e in REACTIONS if who.get(e))
