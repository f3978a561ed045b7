"""The hub says who you are: OAuth sign-in from a browser, tokens from scripts and kernels,
the access scope, group rooms, and names the client cannot choose."""

from __future__ import annotations

import asyncio
import json
import urllib.error
from typing import Any

import pytest
from playwright.sync_api import expect

from talkex_widget.client import ConnectError, RoomClient, Socket

from ..helpers import api_json, check_group_room, eventually
from .harness import Hub

pytestmark = [pytest.mark.browser, pytest.mark.hub]


def me(hub: Hub, token: str | None) -> tuple[int, dict[str, Any]]:
    try:
        return 200, api_json(f"{hub.service_url}api/me", token=token)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def connect(hub: Hub, user: str, **params: str) -> Socket:
    """A socket through the hub's proxy with a fresh API token of ``user`` (as a kernel has)."""
    sock = Socket(hub.service_url, {"token": hub.user_token(user), **params})
    await sock.connect()
    return sock


def test_sign_in_through_the_hub_shows_the_hub_name(hub: Hub, hub_login: Any) -> None:
    """A browser signs in once (hub login, OAuth without a confirm page) and is alice."""
    page = hub_login(hub, "alice", next_url="/services/talkex/login")
    expect(page.locator("h1")).to_contain_text("Signed in to chat as alice", timeout=30_000)
    page.goto(f"{hub.service_url}api/me")
    assert json.loads(page.locator("body").inner_text())["name"] == "alice"


def test_a_kernel_token_names_its_owner_and_groups(hub: Hub) -> None:
    assert me(hub, hub.user_token("alice")) == (
        200,
        {"name": "alice", "display_name": "alice", "groups": ["data"]},
    )
    assert me(hub, hub.user_token("dave"))[1]["groups"] == []


def test_without_the_access_scope_the_reason_says_which_scope(hub: Hub) -> None:
    status, body = me(hub, hub.user_token("carol"))
    assert status == 403
    assert "access:services!service=talkex" in body["error"]


def test_no_token_or_a_wrong_one_is_not_signed_in(hub: Hub) -> None:
    status, body = me(hub, None)
    assert status == 401 and body["login_url"] == "/services/talkex/login"
    assert me(hub, "not-a-token")[0] == 401


def test_a_socket_is_whoever_the_hub_says_whatever_nickname_it_sends(hub: Hub) -> None:
    async def check() -> None:
        sock = await connect(hub, "alice", nickname="bob")
        try:
            room = RoomClient(sock, "lobby")
            await room.join()
            await eventually(lambda: "alice" in room.presence.state, what="alice's presence")
            assert "bob" not in room.presence.state
            await room.send("who am I?")
            await eventually(lambda: room.ordered(), what="the message back")
            assert room.ordered()[-1]["author"] == "alice"
        finally:
            await sock.disconnect()

    asyncio.run(check())


def test_carol_is_refused_with_the_scope_she_lacks(hub: Hub) -> None:
    async def check() -> None:
        with pytest.raises(ConnectError, match=r"access:services!service=talkex"):
            await Socket(hub.service_url, {"token": hub.user_token("carol")}).connect()

    asyncio.run(check())


def test_group_rooms_are_for_the_groups_members(hub: Hub) -> None:
    async def check() -> None:
        alice, dave = await connect(hub, "alice"), await connect(hub, "dave")
        try:
            await check_group_room(member=alice, outsider=dave)
        finally:
            await alice.disconnect()
            await dave.disconnect()

    asyncio.run(check())
