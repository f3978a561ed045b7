"""Who a request is: one answer for pages, the API and the socket, whoever vouches for it.

A server is told who people are either by a token it checks itself (the shared token or a
signed one: :class:`TokenIdentifier`) or by JupyterHub (:class:`~.hub.HubIdentity`). Handlers
ask their injected :class:`Identifier` once per request and act on the :class:`Admission`; they
never look at a token themselves, so adding a way to sign in touches no handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import tornado.web

from talkex_widget.core.auth import Auth, Identity, authorization_token
from talkex_widget.core.hub_access import HubUser, may_moderate, room_refusal

__all__ = ["Admission", "Identifier", "TokenIdentifier", "identify"]

NO_TOKEN = "missing, wrong or expired token"


@dataclass(frozen=True, slots=True)
class Admission:
    """The identity a request proved, or why it proved none (``reason``, shown as is)."""

    identity: Identity | None
    reason: str | None = None
    user: HubUser | None = None
    """The hub's user (hub mode only), whose groups decide the group rooms."""

    def room_refusal(self, room: str) -> str | None:
        """Why this identity may not enter ``room``; only hub groups close rooms."""
        return room_refusal(self.user, room) if self.user is not None else None

    def may_moderate(self) -> bool:
        """Hub admins and moderators; without a hub nobody is a moderator."""
        return self.user is not None and may_moderate(self.user)

    def profile_meta(self) -> dict[str, str]:
        """The presence meta fields saying how this person is shown (display name, colour,
        avatar): only what a viewer token or the hub vouched for, else nothing."""
        profile = self.identity.profile if self.identity is not None else None
        return profile.meta() if profile is not None else {}


class Identifier(Protocol):
    """What the handlers are given to tell who a request is."""

    async def admit(self, handler: tornado.web.RequestHandler, *, socket: bool) -> Admission:
        """The admission of the request ``handler`` serves (``socket``: the WebSocket route)."""

    def sign_in_url(self, handler: tornado.web.RequestHandler) -> str | None:
        """Where a browser without an identity can get one, or ``None`` (then 403)."""


def identify(handler: tornado.web.RequestHandler, auth: Auth) -> Identity | None:
    """Token from the query string first (start-up URL, scripts, widget), then an
    ``Authorization`` header (probes, scripts), else the cookie."""
    given = handler.get_query_argument("token", None)
    if given is None:
        given = authorization_token(handler.request.headers.get("Authorization"))
    if given is None:
        given = handler.get_cookie(auth.cookie_name(handler.request.host))
    return auth.identify(given)


class TokenIdentifier:
    """The server checks the token itself: the shared token, or a signed one (``--secret``)."""

    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def admit(self, handler: tornado.web.RequestHandler, *, socket: bool) -> Admission:
        identity = identify(handler, self.auth)
        return Admission(identity, None if identity is not None else NO_TOKEN)

    def sign_in_url(self, handler: tornado.web.RequestHandler) -> str | None:
        return None
