"""Who is viewing a notebook, in the chat: one rule over Jupyter's ``current_user``.

Each view chats as the person viewing it; the kernel's Python API speaks as the kernel's owner.
Jupyter knows the viewer: a hub user under JupyterHub, a named user with a custom identity
provider, or, under plain token login, an anonymous user with a random id and a made-up name
("Anonymous Io") that jupyter-collaboration shows to tell collaborators apart.

The rule (:meth:`Viewers.viewer`), given the nickname the widget asks for (its ``nickname``
trait: the ``nickname`` argument, ``JUPYTERHUB_USER`` or the login name):

- the owner of the Jupyter server (the hub user it runs for, else the login name) chats under
  the widget's nickname, exactly as the kernel does: one person, one presence key;
- any other named user (a collaborator on a hub) chats under their user name, the same key the
  hub's Talkex service uses, whatever the widget asks for;
- under token login nobody is named: everyone holding the token is equally the owner, and
  anonymous names only tell collaborators apart. The first anonymous user to ask for a
  nickname holds it (a person alone with their notebook sees their usual name) while they keep
  asking (every view start and route connection asks), and for :data:`CLAIM_IDLE` seconds
  after; anyone else viewing that widget meanwhile chats under the anonymous name Jupyter
  shows for them ("Anonymous Io").

How the viewer is shown (:meth:`Viewer.profile`, signed into the token beside the nickname):
the name, colour and avatar JupyterLab shows for them. Jupyter's own colour and avatar when
its user has them (a hub's ``user_info``, a custom identity provider); else, for the colour,
the one JupyterLab picked in the viewer's browser from its seven collaborator colours, which
the view passes on (:data:`~talkex_widget.core.profiles.JUPYTER_COLOURS` only: a view can
choose its own colour among those, as JupyterLab lets anyone do, and nothing else). A named
user's display name is shown; an anonymous one's never is beyond their nickname (a person
alone sees their usual name; a collaborator's nickname already is "Anonymous Io").

This module has no I/O: :mod:`.route` asks it, then signs the answer.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from talkex_widget.core.profiles import (
    JUPYTER_COLOURS,
    Profile,
    checked_avatar_url,
    checked_colour,
)

__all__ = ["ROUTE_ENV", "Viewer", "Viewers", "is_anonymous", "owner_login", "viewers_vouched"]

ROUTE_ENV = "TALKEX_JUPYTER_ROUTE"
"""Set by the Jupyter server extension in its server's environment, which the kernels it starts
inherit: their views can learn who their viewer is, so the kernel keeps its shared token."""

_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")
MAX_WANTED = 200
"""Longer asks are cut here (the chat server refuses names past its own, lower limit)."""
CLAIM_IDLE = 600.0
"""Seconds a nickname stays with an anonymous user who stopped asking for it (a second
browser of the same person gets it back once the first is gone this long)."""
MAX_CLAIMS = 10_000
"""Nicknames remembered per Jupyter server; past this, new asks get the anonymous name."""


def owner_login() -> str:
    """Whom this process runs for: ``JUPYTERHUB_USER`` on a hub, else the login name.

    The same person the widget's default nickname names, so the owner's view and the owner's
    kernel land on one presence key.
    """
    hub_user = os.environ.get("JUPYTERHUB_USER", "").strip()
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "anonymous"


def viewers_vouched(view_key: str | None) -> bool:
    """Whether this kernel's views chat as their viewers, vouched for by the extension: the
    Jupyter server that started the kernel has it (:data:`ROUTE_ENV`) and the Talkex server
    takes its viewer tokens (a ``view_key``). Then no view needs the shared token."""
    return bool(view_key) and bool(os.environ.get(ROUTE_ENV))


def is_anonymous(user: Any) -> bool:
    """A user jupyter_server made up for a token login (random hex id, "Anonymous <moon>")."""
    username = str(getattr(user, "username", ""))
    name = str(getattr(user, "name", ""))
    return bool(_ANONYMOUS_ID.fullmatch(username)) and name.startswith("Anonymous ")


@dataclass(frozen=True)
class Viewer:
    """The chat identity of one Jupyter user viewing a notebook."""

    username: str
    """Jupyter's id for the user (stable for a browser session)."""
    nickname: str
    """The name the chat shows and keys presence by, signed into the viewer's token."""
    display_name: str
    initials: str | None = None
    color: str | None = None
    """Jupyter's colour for the user, else the one JupyterLab picked in their browser."""
    avatar_url: str | None = None
    anonymous: bool = False

    def profile(self) -> Profile:
        """How the chat shows this viewer (checked: a field that fails is left out)."""
        shown = None if self.anonymous else self.display_name
        return Profile.checked(shown, self.color, self.avatar_url).without_name(self.nickname)

    def to_json(self) -> dict[str, Any]:
        return {
            "nickname": self.nickname,
            "display_name": self.display_name,
            "initials": self.initials,
            "color": self.color,
            "avatar_url": self.avatar_url,
        }


class Viewers:
    """The rule above, for one Jupyter server (which remembers who took which nickname)."""

    def __init__(
        self, owner: str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.owner = owner or owner_login()
        self.clock = clock
        self._claims: dict[str, tuple[str, float]] = {}
        """Nickname -> the anonymous user holding it, and when they last asked."""
        self._lock = threading.Lock()

    def _holder(self, wanted: str, username: str) -> str | None:
        """Who holds ``wanted`` after ``username`` asked for it (under the lock)."""
        now = self.clock()
        held = self._claims.get(wanted)
        if held is not None and held[0] != username and now - held[1] < CLAIM_IDLE:
            return held[0]
        if held is None and len(self._claims) >= MAX_CLAIMS:
            for name, (_, since) in list(self._claims.items()):
                if now - since >= CLAIM_IDLE:
                    del self._claims[name]
            if len(self._claims) >= MAX_CLAIMS:
                return None
        self._claims[wanted] = (username, now)
        return username

    def viewer(self, user: Any, wanted: str | None = None, colour: str | None = None) -> Viewer:
        """The chat identity of Jupyter's ``current_user``, viewing a widget whose nickname
        is ``wanted`` (``None``: the owner's default), in a browser where JupyterLab shows
        them in ``colour`` (used only when Jupyter has no colour for them)."""
        username = str(user.username)
        display = str(getattr(user, "display_name", "") or getattr(user, "name", "") or username)
        wanted = (wanted or "").strip()[:MAX_WANTED] or self.owner
        anonymous = is_anonymous(user)
        if anonymous:
            with self._lock:
                holder = self._holder(wanted, username)
            nickname = wanted if holder == username else display
        else:
            nickname = wanted if username == self.owner else username
        return Viewer(
            username=username,
            nickname=nickname,
            display_name=display,
            initials=getattr(user, "initials", None),
            color=checked_colour(getattr(user, "color", None))
            or (colour if colour in JUPYTER_COLOURS else None),
            avatar_url=checked_avatar_url(getattr(user, "avatar_url", None)),
            anonymous=anonymous,
        )
