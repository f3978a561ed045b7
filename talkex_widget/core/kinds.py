"""Message kinds beyond text: results shared from a kernel (tables, code, figures).

A ``new_msg`` push names its ``kind``; this module turns the push into what is stored, or
refuses it with a reason the sender sees. Pure (no I/O) so the server enforces it and the
kernel can build the same shapes. What is stored and broadcast:

=========  ==============================================  ======================================
kind       push (client to server)                         ``content`` (stored, on the wire)
=========  ==============================================  ======================================
``text``   ``{body}`` (no ``kind``)                        none: the message is its body
``code``   ``{kind, body: source, language?, caption?}``   ``{kind, language[, caption]}``
``table``  ``{kind, body?: caption, table: {columns,       ``{kind, table}`` as pushed, checked
           rows, total_rows?, total_columns?}}``
``figure`` ``{kind, body?: caption, image: base64}``       ``{kind, attachment: {id, type,
                                                           width, height, size}}``
=========  ==============================================  ======================================

A table is capped (:data:`MAX_TABLE_ROWS` × :data:`MAX_TABLE_COLUMNS`) and carries the full
size, so readers see "… more" instead of silently missing rows. A figure's bytes travel once,
base64 in the push, and are stored beside the message (:class:`~.messages.Attachment`); the
message holds only metadata, so history pages stay small. The body of a table or figure is its
caption, or a short description when there is none, so a client that knows no kinds (and a
transcript) still says what was shared.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from talkex_widget.core.images import ImageError, sniff_image
from talkex_widget.core.messages import Attachment
from talkex_widget.core.rooms import RoomError, RoomRules

__all__ = [
    "KINDS",
    "MAX_CELL",
    "MAX_TABLE_COLUMNS",
    "MAX_TABLE_ROWS",
    "Post",
    "attachment_frame_bytes",
    "parse_post",
]

KINDS = ("text", "code", "table", "figure")
MAX_TABLE_ROWS = 50
MAX_TABLE_COLUMNS = 20
MAX_CELL = 200
"""Characters kept per cell or column name: enough to read, small enough that a full table
(50 × 20 cells) stays a few hundred KiB at most on every reader's socket."""
_LANGUAGE_RE = re.compile(r"[A-Za-z0-9_+#.\-]{1,32}")
ATTACHMENT_ID_RE = r"[A-Za-z0-9_\-]{16,64}"
_FRAME_SLACK = 16 * 1024


@dataclass(frozen=True, slots=True)
class Post:
    """A checked push: what to store."""

    body: str
    content: dict[str, Any] | None = None
    attachment: Attachment | None = None


def attachment_frame_bytes(max_attachment: int) -> int:
    """The WebSocket frame size that carries an image of ``max_attachment`` bytes (base64)."""
    return 0 if max_attachment <= 0 else math.ceil(max_attachment / 3) * 4 + _FRAME_SLACK


def parse_post(payload: dict[str, Any], rules: RoomRules) -> Post:
    """The message a ``new_msg`` push asks for, checked against ``rules``."""
    kind = payload.get("kind", "text")
    if kind == "text":
        return Post(rules.body(payload))
    if kind == "code":
        return _code(payload, rules)
    if kind == "table":
        return _table(payload, rules)
    if kind == "figure":
        return _figure(payload, rules)
    raise RoomError(f"kind must be one of {', '.join(KINDS)}")


def _caption(payload: dict[str, Any], rules: RoomRules, default: str) -> str:
    if payload.get("body") in (None, ""):
        return default
    return rules.body(payload)


def _code(payload: dict[str, Any], rules: RoomRules) -> Post:
    source = payload.get("body")
    if not isinstance(source, str) or not source.strip():
        raise RoomError("code is empty")
    source = source.strip("\n").rstrip()  # keep the first line's indentation
    if len(source) > rules.max_body:
        raise RoomError(f"code is too long ({len(source)} characters, limit {rules.max_body})")
    language = payload.get("language") or ""
    if not isinstance(language, str) or (language and not _LANGUAGE_RE.fullmatch(language)):
        raise RoomError("language must be a short name such as python, sql or bash")
    content = {"kind": "code", "language": language.lower()}
    caption = payload.get("caption")
    if caption is not None:
        if not isinstance(caption, str) or len(caption) > MAX_CELL:
            raise RoomError(f"a code caption is text of at most {MAX_CELL} characters")
        if caption.strip():
            content["caption"] = caption.strip()
    return Post(source, content)


def _table(payload: dict[str, Any], rules: RoomRules) -> Post:
    table = payload.get("table")
    if not isinstance(table, dict):
        raise RoomError("a table message needs a table: {columns, rows}")
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise RoomError("a table needs a list of columns and a list of rows")
    if not columns or len(columns) > MAX_TABLE_COLUMNS:
        raise RoomError(f"a table has 1 to {MAX_TABLE_COLUMNS} columns (send the rest as … more)")
    if len(rows) > MAX_TABLE_ROWS:
        raise RoomError(f"a table has at most {MAX_TABLE_ROWS} rows (send the rest as … more)")
    names = [_cell(name, "column name") for name in columns]
    if any(not isinstance(name, str) for name in names):
        raise RoomError("column names must be text")
    cells: list[list[Any]] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(columns):
            raise RoomError(f"every row must be a list of {len(columns)} cells")
        cells.append([_cell(value, "cell") for value in row])
    total_rows = _total(table, "total_rows", len(rows))
    total_columns = _total(table, "total_columns", len(columns))
    checked = {
        "columns": names,
        "rows": cells,
        "total_rows": total_rows,
        "total_columns": total_columns,
    }
    default = f"table ({total_rows} rows × {total_columns} columns)"
    return Post(_caption(payload, rules, default), {"kind": "table", "table": checked})


def _cell(value: Any, what: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_CELL else value[: MAX_CELL - 1] + "…"
    raise RoomError(f"a {what} must be text, a number, true/false or null")


def _total(table: dict[str, Any], field: str, shown: int) -> int:
    value = table.get(field, shown)
    if isinstance(value, bool) or not isinstance(value, int) or value < shown:
        raise RoomError(f"{field} must be an integer ≥ the {shown} shown")
    return value


def _figure(payload: dict[str, Any], rules: RoomRules) -> Post:
    if rules.max_attachment <= 0:
        raise RoomError("this server takes no images (--max-attachment 0)")
    encoded = payload.get("image")
    if not isinstance(encoded, str) or not encoded:
        raise RoomError("a figure needs its image, base64-encoded")
    if len(encoded) > attachment_frame_bytes(rules.max_attachment):
        raise RoomError(_too_big(len(encoded) * 3 // 4, rules.max_attachment))
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise RoomError("the image is not valid base64") from None
    if len(data) > rules.max_attachment:
        raise RoomError(_too_big(len(data), rules.max_attachment))
    try:
        info = sniff_image(data)
    except ImageError as exc:
        raise RoomError(f"image refused: {exc}") from None
    attachment = Attachment(secrets.token_urlsafe(16), info.content_type, data)
    meta = {
        "id": attachment.id,
        "type": info.content_type,
        "width": info.width,
        "height": info.height,
        "size": len(data),
    }
    default = f"figure ({info.width}×{info.height} {info.content_type.split('/')[1].upper()})"
    content = {"kind": "figure", "attachment": meta}
    return Post(_caption(payload, rules, default), content, attachment)


def _too_big(size: int, limit: int) -> str:
    return f"image is too large ({size:,} bytes, limit {limit:,} bytes: --max-attachment)"
