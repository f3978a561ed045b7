"""``GET /api/rooms/<room>/attachments/<id>``: the image of a figure message, for its room only.

Apart from :mod:`.handlers` so the image route stays small and reviewable on its own. The
identity rules are the messages API's (:class:`~.handlers.BaseHandler`: token, cookie, hub
login, the hub's room access). What is served can never become a page: the type is the one
the bytes proved when posted (PNG or JPEG, :mod:`talkex_widget.core.images`), ``nosniff``
holds browsers to it, and a ``sandbox`` CSP disarms the response if opened on its own.
Attachments never change, so a browser may keep them (privately) for as long as it likes.

Views fetch images over their socket instead (:mod:`.attachment_push`).
"""

from __future__ import annotations

import tornado.web

from talkex_widget.core.kinds import ATTACHMENT_ID_RE
from talkex_widget.core.rooms import RoomError
from talkex_widget.server.handlers import BaseHandler

__all__ = ["ATTACHMENT_ROUTE", "AttachmentHandler"]

ATTACHMENT_ROUTE = rf"api/rooms/([^/]+)/attachments/({ATTACHMENT_ID_RE})"
"""The route under the server's prefix; the id pattern is :mod:`~talkex_widget.core.kinds`'."""


class AttachmentHandler(BaseHandler):
    """Serves one stored image with its proven type; 404 when the room holds no such id."""

    async def get(self, room: str, attachment_id: str) -> None:
        if not self.check_request_origin():
            raise tornado.web.HTTPError(403, "origin not allowed")
        if self.identity() is None:
            raise tornado.web.HTTPError(403, self.admission.reason or "missing or wrong token")
        try:
            self.service.rules.room_name(room)
        except RoomError as exc:
            raise tornado.web.HTTPError(400, exc.reason) from None
        refusal = self.admission.room_refusal(room)
        if refusal is not None:
            raise tornado.web.HTTPError(403, refusal)
        attachment = await self.service.history.attachment(room, attachment_id)
        if attachment is None:
            raise tornado.web.HTTPError(404, "no such attachment in this room")
        self.set_header("Content-Type", attachment.content_type)
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.set_header("Content-Disposition", "inline")
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        self.finish(attachment.data)
