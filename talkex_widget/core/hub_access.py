"""Who may do what when JupyterHub says who you are: pure rules over the hub's user model.

The hub answers ``GET /hub/api/user`` with a model (name, admin, groups, the token's scopes);
everything Talkex decides from it lives here, without I/O, so the rules are tested without a
hub and the Tornado shell only fetches the model. The reasons are shown to users as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from talkex_widget.core.profiles import Profile

__all__ = [
    "GROUP_ROOM_PREFIX",
    "MODERATE_SCOPE",
    "HubUser",
    "access_refusal",
    "access_scope",
    "group_of_room",
    "has_scope",
    "may_moderate",
    "room_refusal",
]

GROUP_ROOM_PREFIX = "group."
"""Rooms named ``group.<name>.<anything>`` are open only to members of hub group ``<name>``."""
MODERATE_SCOPE = "custom:talkex:moderate"
"""A custom scope an admin may declare (``c.JupyterHub.custom_scopes``) to name moderators."""


@dataclass(frozen=True, slots=True)
class HubUser:
    """The parts of the hub's user model Talkex uses; nothing here comes from the client."""

    name: str
    display_name: str
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    admin: bool = False
    kind: str = "user"
    color: str | None = None
    avatar_url: str | None = None

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> HubUser:
        """Read the hub's model; fields missing because the token may not read them are empty.

        ``user_info`` is what the authenticator returned at login (GenericOAuthenticator and
        others fill it); JupyterLab on a hub reads the same keys (``display_name``, ``color``,
        ``avatar_url``) for the user's identity. The display name is the login name when
        ``user_info`` holds no usable one; a colour or avatar that fails
        :mod:`~talkex_widget.core.profiles`' checks is left out.
        """
        name = str(model["name"])
        info = model.get("user_info")
        info = info if isinstance(info, Mapping) else {}
        checked = Profile.checked(
            info.get("display_name"), info.get("color"), info.get("avatar_url")
        )
        return cls(
            name=name,
            display_name=checked.display_name or name,
            groups=frozenset(str(g) for g in model.get("groups") or ()),
            scopes=frozenset(str(s) for s in model.get("scopes") or ()),
            admin=bool(model.get("admin")),
            kind=str(model.get("kind") or "user"),
            color=checked.color,
            avatar_url=checked.avatar_url,
        )

    def profile(self) -> Profile | None:
        """How the hub says this user looks, for the presence list (``None``: as the name)."""
        profile = Profile(self.display_name, self.color, self.avatar_url).without_name(self.name)
        return profile or None


def access_scope(service: str) -> str:
    """The scope that lets a token use the service named ``service``."""
    return f"access:services!service={service}"


def has_scope(scopes: Iterable[str], needed: str) -> bool:
    """Whether ``scopes`` (as the hub lists them, already expanded) grant ``needed``.

    A scope without a filter grants every filtered form of itself: ``access:services``
    covers ``access:services!service=talkex``, never the other way round.
    """
    base = needed.split("!", 1)[0]
    return any(scope in (needed, base) for scope in scopes)


def access_refusal(user: HubUser, service: str) -> str | None:
    """Why ``user`` may not use the service at all, or ``None`` when they may."""
    if has_scope(user.scopes, access_scope(service)):
        return None
    return (
        f"{user.name} may not use {service}: the hub grants it with the scope "
        f"{access_scope(service)} (ask a hub admin)"
    )


def group_of_room(room: str) -> str | None:
    """The hub group a room is reserved to, or ``None`` for a room open to every user.

    ``group.data.lobby`` and ``group.data`` both belong to group ``data``: every name under
    the prefix is reserved (fail closed), and ``group..x`` belongs to the empty name, which
    no hub group has, so nobody may join it.
    """
    if not room.startswith(GROUP_ROOM_PREFIX):
        return None
    return room[len(GROUP_ROOM_PREFIX) :].partition(".")[0]


def room_refusal(user: HubUser, room: str) -> str | None:
    """Why ``user`` may not join ``room``, or ``None`` when they may."""
    group = group_of_room(room)
    if group is None or (group and group in user.groups):
        return None
    if not group:
        return "group rooms are named group.<group>.<room>"
    return f"not a member of group {group}"


def may_moderate(user: HubUser) -> bool:
    """Hub admins and holders of :data:`MODERATE_SCOPE` may remove anyone's messages."""
    return user.admin or has_scope(user.scopes, MODERATE_SCOPE)
