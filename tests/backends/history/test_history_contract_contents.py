"""The contract for shared results, on every backend: a message's ``content`` comes back as
stored, its attachment is stored with it (once, also on a retry) and only within its room."""

from __future__ import annotations

from talkex_widget.backends.history import Attachment, HistoryStore
from tests.images import png

SENT_AT = "2026-11-29T15:40:01.123Z"
TABLE = {
    "kind": "table",
    "table": {
        "columns": ["a", "b"],
        "rows": [[1, "x"], [2.5, None]],
        "total_rows": 9,
        "total_columns": 2,
    },
}


async def test_content_is_returned_as_stored_by_every_read(store: HistoryStore) -> None:
    message, created = await store.append("lobby", "ann", "table", SENT_AT, content=TABLE)
    assert created and message.content == TABLE and message.kind == "table"
    text, _ = await store.append("lobby", "ann", "plain", SENT_AT)
    assert text.content is None and text.kind == "text"
    assert (await store.after("lobby", 0, 10))[0] == [message, text]
    assert (await store.before("lobby", None, 10))[0] == [message, text]
    assert message.to_wire()["table"] == TABLE["table"]
    assert "kind" not in text.to_wire()


async def test_attachment_is_stored_with_its_message(store: HistoryStore) -> None:
    image = Attachment("a" * 22, "image/png", png())
    content = {"kind": "figure", "attachment": {"id": image.id, "type": "image/png"}}
    message, _ = await store.append(
        "lobby", "ann", "fig", SENT_AT, "c1", content=content, attachment=image
    )
    assert await store.attachment("lobby", image.id) == image
    assert await store.attachment("dev", image.id) is None  # never another room's
    assert await store.attachment("lobby", "b" * 22) is None
    # A retry stores nothing again, even with other bytes.
    other = Attachment("c" * 22, "image/png", png(3, 3))
    again = await store.append(
        "lobby", "ann", "fig", SENT_AT, "c1", content=content, attachment=other
    )
    assert again == (message, False)
    assert await store.attachment("lobby", other.id) is None
