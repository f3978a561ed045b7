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
  nickname keeps it for the life of this Jupyter server (a person alone with their notebook
  sees their usual name); anyone else viewing that widget chats under the anonymous name
  Jupyter shows for them ("Anonymous Io").

This module has no I/O: :mod:`.route` asks it, then signs the answer.
"""

from __future__ import annotations

import getpass
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["Viewer", "Viewers", "is_anonymous", "owner_login"]

_ANONYMOUS_ID = re.compile(r"[0-9a-f]{32}")
MAX_WANTED = 200
"""Longer asks are cut here (the chat server refuses names past its own, lower limit)."""
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
    avatar_url: str | None = None

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

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or owner_login()
        self._claims: dict[str, str] = {}
        """Nickname -> the anonymous user who asked for it first."""
        self._lock = threading.Lock()

    def viewer(self, user: Any, wanted: str | None = None) -> Viewer:
        """The chat identity of Jupyter's ``current_user``, viewing a widget whose nickname
        is ``wanted`` (``None``: the owner's default)."""
        username = str(user.username)
        display = str(getattr(user, "display_name", "") or getattr(user, "name", "") or username)
        wanted = (wanted or "").strip()[:MAX_WANTED] or self.owner
        if is_anonymous(user):
            with self._lock:
                if wanted in self._claims or len(self._claims) < MAX_CLAIMS:
                    holder = self._claims.setdefault(wanted, username)
                else:
                    holder = None
            nickname = wanted if holder == username else display
        else:
            nickname = wanted if username == self.owner else username
        return Viewer(
            username=username,
            nickname=nickname,
            display_name=display,
            initials=getattr(user, "initials", None),
            color=getattr(user, "color", None),
            avatar_url=getattr(user, "avatar_url", None),
        )
