"""How a person looks in the presence list: a display name, a colour and an avatar.

The presence key stays the nickname (mentions, read positions, "you"); a profile only says how
to show that key. It enters a presence meta from a verified identity only: a viewer token the
Jupyter server extension signed (JupyterLab's name and colour for the viewer), or the hub's
user model. The shared token and ``--secret`` tokens carry none, so nobody holding the shared
token can make their row look like someone else's.

Every field is checked where it is minted and again where it is read; a field that fails is
dropped (the row falls back to the nickname and an initials avatar), never a reason to refuse
the person: it comes from Jupyter's or the hub's configuration, not from a hostile client.

- ``display_name``: at most :data:`MAX_DISPLAY_NAME` characters, every one visible
  (:func:`~.names.check_visible`: no bidi overrides or invisible padding).
- ``color``: one of :data:`COLOUR_RE`, a strict allow-list that can only ever paint a
  background: ``#rgb``, ``#rrggbb``, or JupyterLab's own ``var(--jp-collaborator-colorN)``.
- ``avatar_url``: an ``https://`` URL or a path on the page's own origin (``/hub/...``), at
  most :data:`MAX_AVATAR_URL` characters, with nothing that could leave a CSS or HTML
  attribute (quotes, spaces, backslashes, controls).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from talkex_widget.core.names import NameRefused, check_visible

__all__ = [
    "COLOUR_RE",
    "JUPYTER_COLOURS",
    "MAX_AVATAR_URL",
    "MAX_DISPLAY_NAME",
    "PROFILE_FIELDS",
    "Profile",
    "checked_avatar_url",
    "checked_colour",
    "checked_display_name",
]

MAX_DISPLAY_NAME = 64
"""Longest display name shown (js/src/lib/presence.js checks the same)."""
MAX_AVATAR_URL = 512
"""Longest avatar URL carried; provider avatar URLs are far shorter."""
JUPYTER_COLOURS = tuple(f"var(--jp-collaborator-color{n})" for n in range(1, 8))
"""The colours JupyterLab picks from for a user without one of their own (its UserManager)."""
COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|var\(--jp-collaborator-color[1-7]\)")
"""Every colour a profile may hold (js/src/lib/avatar.js checks the same)."""
PROFILE_FIELDS = ("display_name", "color", "avatar_url")
"""The presence meta keys a profile fills."""
_AVATAR_UNSAFE = re.compile(r"[\s\"'`<>\\()]|[\x00-\x1f\x7f]")


def checked_display_name(value: object) -> str | None:
    """``value`` trimmed, if it is a display name that may be shown; else ``None``."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        return None
    try:
        return check_visible(name)
    except NameRefused:
        return None


def checked_colour(value: object, allowed: re.Pattern[str] = COLOUR_RE) -> str | None:
    """``value`` if ``allowed`` matches all of it; else ``None``."""
    return value if isinstance(value, str) and allowed.fullmatch(value) else None


def checked_avatar_url(value: object) -> str | None:
    """``value`` if it is an ``https://`` URL or a same-origin path; else ``None``."""
    if not isinstance(value, str) or not value or len(value) > MAX_AVATAR_URL:
        return None
    if _AVATAR_UNSAFE.search(value):
        return None
    if value.startswith("/"):
        return None if value.startswith("//") else value
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return value


@dataclass(frozen=True, slots=True)
class Profile:
    """How one verified person is shown; ``None`` fields fall back to the nickname's look."""

    display_name: str | None = None
    color: str | None = None
    avatar_url: str | None = None

    @classmethod
    def checked(
        cls,
        display_name: object = None,
        color: object = None,
        avatar_url: object = None,
    ) -> Profile:
        """A profile of the fields that pass their checks (the others are dropped)."""
        return cls(
            checked_display_name(display_name),
            checked_colour(color),
            checked_avatar_url(avatar_url),
        )

    @classmethod
    def from_meta(cls, data: Mapping[str, Any]) -> Profile:
        """The profile in a token's claims or a meta (same keys), checked again."""
        return cls.checked(*(data.get(field) for field in PROFILE_FIELDS))

    def without_name(self, nickname: str) -> Profile:
        """The same, minus a display name that only repeats the nickname."""
        if self.display_name == nickname:
            return Profile(None, self.color, self.avatar_url)
        return self

    def meta(self) -> dict[str, str]:
        """The presence meta fields (also a token's claims): only the fields that are set."""
        values = (self.display_name, self.color, self.avatar_url)
        return {k: v for k, v in zip(PROFILE_FIELDS, values, strict=True) if v is not None}

    def __bool__(self) -> bool:
        return any((self.display_name, self.color, self.avatar_url))
