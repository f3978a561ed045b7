"""The kernel's link to a room: the server's limits from join replies, and messages handed on
once the first join's history is known."""

from __future__ import annotations

from typing import Any

from talkex_widget.core.rooms import DEFAULT_RULES
from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.link import RoomLink


async def make_link(heard: list[dict[str, Any]]) -> RoomLink:
    """A link that never connects: join replies are fed to it by hand (needs a running loop)."""
    return RoomLink(ServerInfo("http://127.0.0.1:9/", "t"), "ada", "lobby", "online", heard.append)


async def test_max_body_follows_the_latest_join_reply() -> None:
    link = await make_link([])
    assert link.max_body == DEFAULT_RULES.max_body  # no join yet
    link._joined({"messages": [], "limits": {"max_body": 300}})
    assert link.max_body == 300
    link._joined({"messages": [], "limits": {"max_body": 500}})  # a rejoin, maybe elsewhere
    assert link.max_body == 500
    link._joined({"messages": []})  # a server too old to say: the last word stands
    assert link.max_body == 500
    for nonsense in (0, -1, "300", True, None):
        link._joined({"messages": [], "limits": {"max_body": nonsense}})
        assert link.max_body == DEFAULT_RULES.max_body


async def test_messages_before_the_first_join_reply_are_handed_on_once() -> None:
    heard: list[dict[str, Any]] = []
    link = await make_link(heard)
    link._received({"id": 1, "body": "in the history too"})
    link._received({"id": 2, "body": "only live"})
    assert heard == []
    link._joined({"messages": [{"id": 1, "body": "in the history too"}]})
    assert [m["id"] for m in heard] == [2]
    link._received({"id": 3, "body": "after"})
    link._joined({"messages": [{"id": 3}]})  # a rejoin hands nothing again
    assert [m["id"] for m in heard] == [2, 3]
