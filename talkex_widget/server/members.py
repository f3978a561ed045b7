"""Who is in which room on this node: the :class:`Peer` seen by the service, its
:class:`Member` entry per room, and the :class:`Room` that delivers text to them.

Transport-free: a peer takes plain frame text. A room hands the *same* ``str`` object to every
member, so a transport that frames text (the Tornado socket) can frame one broadcast once by
recognising the object it framed last (see :class:`~.framing.FrameCache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from talkex_widget.core.names import LookAlikes
from talkex_widget.core.rooms import topic_for

__all__ = ["Member", "Peer", "Room"]


class Peer(Protocol):
    """One connected client as the service sees it."""

    id: str
    nickname: str

    def send(self, text: str) -> None:
        """Queue one frame; must not raise when the transport is already gone."""

    def close_peer(self, code: int, reason: str) -> None:
        """Close the transport (flood, policy); the session is closed after it."""

    def room_refusal(self, room: str) -> str | None:
        """Why this client may not join ``room`` (a hub group's room), or ``None``."""

    def may_moderate(self) -> bool:
        """Whether this client may delete anyone's message (a hub moderator)."""

    def profile_meta(self) -> dict[str, str]:
        """How this client's person is shown, as presence meta fields (display name, colour,
        avatar), when a verified identity says so; else empty (see core/profiles.py)."""


@dataclass(eq=False, slots=True)
class Member:
    """One socket's channel in one room (slotted: a server holds one per socket and room)."""

    peer: Peer
    room: str
    join_ref: str | None
    phx_ref: str | None = None
    status: str = "online"
    activity: str | None = None
    kind: str | None = None
    """``kernel`` for a notebook kernel's own link (see :data:`~talkex_widget.core.rooms.KINDS`)."""
    buffer: list[str] | None = field(default_factory=list)
    """Broadcasts that arrive before this member has its ``presence_state``; ``None`` after."""

    @property
    def topic(self) -> str:
        return topic_for(self.room)

    def deliver(self, text: str) -> None:
        """Send now, or hold until the member's ``presence_state`` has gone out."""
        if self.buffer is not None:
            self.buffer.append(text)
        else:
            self.peer.send(text)


class Room:
    """The local members of one room; presence lives in the node-wide tracker."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.topic = topic_for(name)
        self.members: dict[tuple[str, str], Member] = {}
        self.joining = LookAlikes()
        """Names of this node's members between their join and their tracking: present for
        the look-alike rule before the tracker knows them."""

    def deliver(self, text: str) -> None:
        """The same text object to every member: a framing transport frames it once."""
        for member in tuple(self.members.values()):
            member.deliver(text)
