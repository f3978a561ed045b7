"""The hub says who you are: OAuth sign-in from a browser, tokens from scripts and kernels."""

from __future__ import annotations

import json
import sys
import urllib.error
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from .harness import Hub, HubSetup, _request

pytestmark = [pytest.mark.browser, pytest.mark.hub]

SERVICE = [sys.executable, "-m", "tests.hub.identity_service"]


@pytest.fixture(scope="module")
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    from .conftest import run_hub

    yield from run_hub(HubSetup(service_command=SERVICE), request)


def me(hub: Hub, token: str | None) -> tuple[int, dict]:
    try:
        return 200, _request(f"{hub.service_url}api/me", token=token)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sign_in_through_the_hub_shows_the_hub_name(hub: Hub, hub_login) -> None:
    """A browser signs in once (hub login, OAuth without a confirm page) and is alice."""
    page = hub_login(hub, "alice", next_url=quote("/services/talkex/login"))
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
