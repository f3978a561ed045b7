"""Edits, deletes and reactions through a session, and catch-up by the room's ``seq``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talkex_widget.core.auth import Identity
from talkex_widget.core.changes import REACTIONS
from talkex_widget.core.hub_access import MODERATE_SCOPE, HubUser
from talkex_widget.server.identity import Admission
from talkex_widget.server.service import ChatService
from talkex_widget.server.session import Session

from .conftest import MakeService, flush
from .fakes import FakePeer

Joined = tuple[Session, FakePeer, dict[str, Any]]


async def joined(service: ChatService, nickname: str, **join: Any) -> Joined:
    peer = FakePeer(nickname, moderator=join.pop("moderator", False))
    session = service.open_session(peer)
    await session.receive(json.dumps(["1", "1", "room:lobby", "phx_join", join]))
    flush(service)  # a joiner's broadcasts wait for its first presence window
    (reply,) = [f for f in peer.take() if f[3] == "phx_reply"]
    return session, peer, reply[4]["response"]


async def push(joined: Joined, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The reply to one push: ``{status, response}``."""
    session, peer, _ = joined
    peer.take()
    await session.receive(json.dumps(["1", "9", "room:lobby", event, payload]))
    return next(f[4] for f in peer.take() if f[3] == "phx_reply")


def broadcasts(peer: FakePeer, event: str) -> list[dict[str, Any]]:
    return [f[4] for f in peer.take() if f[3] == event]


async def test_edit_delete_and_react_are_broadcast_with_the_whole_new_state(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann, bob = await joined(service, "ann"), await joined(service, "bob")
    posted = await push(ann, "new_msg", {"body": "helo"})
    message_id = posted["response"]["id"]
    broadcasts(bob[1], "new_msg")

    edited = await push(ann, "edit_msg", {"id": message_id, "body": "hello"})
    assert edited["status"] == "ok"
    (changed,) = broadcasts(bob[1], "msg_changed")
    assert changed == edited["response"]
    assert (changed["body"], changed["seq"], "edited_at" in changed) == ("hello", 2, True)

    await push(bob, "react", {"id": message_id, "emoji": "🎉"})
    (changed,) = broadcasts(ann[1], "msg_changed")
    assert changed["reactions"] == {"🎉": ["bob"]}

    deleted = await push(ann, "delete_msg", {"id": message_id})
    (changed,) = broadcasts(bob[1], "msg_changed")
    assert changed == deleted["response"]
    assert (changed["body"], "reactions" in changed, changed["seq"]) == ("", False, 4)
    assert changed["deleted_at"]


@pytest.mark.parametrize(
    ("actor", "event", "payload", "reason"),
    [
        ("bob", "edit_msg", {"id": 1, "body": "mine now"}, "not yours"),
        ("bob", "delete_msg", {"id": 1}, "not yours"),
        ("ann", "edit_msg", {"id": 7, "body": "x"}, "unknown message 7"),
        ("ann", "react", {"id": 7, "emoji": "👍"}, "unknown message 7"),
        ("ann", "react", {"id": 1, "emoji": "💩"}, "unknown reaction"),
        ("ann", "react", {"id": 1}, "unknown reaction"),
        ("ann", "edit_msg", {"id": 1, "body": "x" * 5000}, "too long"),
        ("ann", "edit_msg", {"id": 1, "body": "  "}, "empty"),
        ("ann", "edit_msg", {"body": "x"}, "needs the id"),
        ("ann", "delete_msg", {"id": "1"}, "id must be an integer"),
    ],
)
async def test_refused_changes_get_a_reason_and_change_nothing(
    make_service: MakeService, actor: str, event: str, payload: dict[str, Any], reason: str
) -> None:
    service = await make_service()
    people = {"ann": await joined(service, "ann"), "bob": await joined(service, "bob")}
    await push(people["ann"], "new_msg", {"body": "hi"})
    reply = await push(people[actor], event, payload)
    assert reply["status"] == "error"
    assert reason in reply["response"]["reason"]
    assert await service.history.last_seq("lobby") == 1
    assert broadcasts(people["ann"][1], "msg_changed") == []


async def test_a_deleted_message_takes_no_edit_or_reaction(make_service: MakeService) -> None:
    service = await make_service()
    ann = await joined(service, "ann")
    await push(ann, "new_msg", {"body": "oops"})
    await push(ann, "delete_msg", {"id": 1})
    for event, payload in [
        ("edit_msg", {"id": 1, "body": "x"}),
        ("react", {"id": 1, "emoji": "👀"}),
    ]:
        reply = await push(ann, event, payload)
        assert reply["response"]["reason"] == "message 1 was deleted"


async def test_a_moderator_may_delete_anyones_message_but_not_edit_it(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann = await joined(service, "ann")
    mod = await joined(service, "mod", moderator=True)
    await push(ann, "new_msg", {"body": "spam"})
    reply = await push(mod, "edit_msg", {"id": 1, "body": "ham"})
    assert "not yours" in reply["response"]["reason"]
    reply = await push(mod, "delete_msg", {"id": 1})
    assert reply["status"] == "ok" and reply["response"]["deleted_at"]
    (changed,) = broadcasts(ann[1], "msg_changed")
    assert changed["body"] == ""


async def test_every_reaction_of_the_fixed_set_toggles(make_service: MakeService) -> None:
    service = await make_service()
    ann = await joined(service, "ann")
    await push(ann, "new_msg", {"body": "hi"})
    for emoji in REACTIONS:
        await push(ann, "react", {"id": 1, "emoji": emoji})
    reply = await push(ann, "react", {"id": 1, "emoji": "❤"})  # no variation selector
    assert list(reply["response"]["reactions"]) == [e for e in REACTIONS if e != "❤️"]


async def test_a_rejoin_with_last_seen_seq_gets_each_change_once_in_order(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann = await joined(service, "ann")
    for body in ("one", "two", "three"):
        await push(ann, "new_msg", {"body": body})
    _, _, seen = await joined(service, "bob")
    assert seen["seq"] == 3
    # while bob is away: an edit, a reaction to the same message, a delete, a new message
    await push(ann, "edit_msg", {"id": 1, "body": "one!"})
    await push(ann, "react", {"id": 1, "emoji": "👍"})
    await push(ann, "delete_msg", {"id": 2})
    await push(ann, "new_msg", {"body": "four"})
    _, _, back = await joined(service, "bob", last_seen_seq=seen["seq"])
    assert [(m["id"], m["seq"]) for m in back["messages"]] == [(1, 5), (2, 6), (4, 7)]
    assert back["messages"][0]["reactions"] == {"👍": ["ann"]}
    assert back["messages"][1]["deleted_at"]
    assert (back["seq"], back["has_more"], "reset" in back) == (7, False, False)
    _, _, again = await joined(service, "bob", last_seen_seq=back["seq"])
    assert (again["messages"], again["seq"]) == ([], 7)


async def test_an_old_client_with_last_seen_id_still_gets_the_new_messages(
    make_service: MakeService,
) -> None:
    service = await make_service()
    ann = await joined(service, "ann")
    for body in ("one", "two"):
        await push(ann, "new_msg", {"body": body})
    await push(ann, "edit_msg", {"id": 1, "body": "one!"})
    await push(ann, "new_msg", {"body": "three"})
    _, _, back = await joined(service, "old", last_seen_id=2)
    assert [m["body"] for m in back["messages"]] == ["three"]
    assert back["seq"] == 4


def test_hub_admins_and_moderate_scope_holders_are_moderators() -> None:
    def admission(user: HubUser | None) -> Admission:
        return Admission(Identity(user.name if user else "ann"), user=user)

    assert not admission(None).may_moderate()  # no hub: nobody moderates
    assert not admission(HubUser("ann", "ann")).may_moderate()
    assert admission(HubUser("root", "root", admin=True)).may_moderate()
    assert admission(HubUser("mod", "mod", scopes=frozenset({MODERATE_SCOPE}))).may_moderate()


async def test_the_join_reply_tells_a_moderator_so(make_service: MakeService) -> None:
    service = await make_service()
    _, _, plain = await joined(service, "ann")
    _, _, moderator = await joined(service, "mod", moderator=True)
    assert "moderator" not in plain
    assert moderator["moderator"] is True
