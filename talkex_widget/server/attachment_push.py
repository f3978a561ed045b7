"""The ``attachment {id}`` push: a view fetches a figure's image over its own socket.

A notebook's view lives on Jupyter's origin, where no cookie of this server exists and its
token must not go into an ``<img>`` URL; the socket already carries its identity, whichever
route it takes (direct, Jupyter's, the kernel's relay). The page could use the HTTP route
(:mod:`.attachments`) but takes the same path, so one code path serves every view.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from talkex_widget.backends.history import HistoryStore
from talkex_widget.core.kinds import ATTACHMENT_ID_RE
from talkex_widget.core.rooms import RoomError
from talkex_widget.server.members import Member

__all__ = ["attachment_reply"]


async def attachment_reply(
    history: HistoryStore, member: Member, payload: dict[str, Any]
) -> dict[str, Any]:
    """The ``attachment {id}`` push's reply: ``{id, type, data}`` (base64), from the room the
    member is in, or a :class:`RoomError` saying there is no such image there."""
    attachment_id = payload.get("id")
    if not isinstance(attachment_id, str) or not re.fullmatch(ATTACHMENT_ID_RE, attachment_id):
        raise RoomError("id must be an attachment id")
    attachment = await history.attachment(member.room, attachment_id)
    if attachment is None:
        raise RoomError("no such attachment in this room")
    data = base64.b64encode(attachment.data).decode("ascii")
    return {"id": attachment.id, "type": attachment.content_type, "data": data}
