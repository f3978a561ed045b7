"""Hub mode's shell pieces without a hub: settings from the environment, where tokens are
read from, redirects that stay on this host, and the caps behind the hub's proxy.

The hub itself answers in tests/hub, which start a real JupyterHub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

pytest.importorskip("jupyterhub", reason="JupyterHub mode needs the jupyterhub extra")

import tornado.httpclient
import tornado.web
from tornado.web import create_signed_value

from talkex_widget.core.limits import Limits
from talkex_widget.server.hub import (
    HubConfigError,
    HubIdentity,
    HubSettings,
    hub_limits,
    safe_next_url,
)

from ..helpers import free_port

ENV = {
    "JUPYTERHUB_SERVICE_NAME": "talkex",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/talkex",
    "JUPYTERHUB_API_TOKEN": "service-secret",
    "JUPYTERHUB_CLIENT_ID": "service-talkex",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
}


def test_settings_come_from_the_hubs_variables() -> None:
    settings = HubSettings.from_env(ENV)
    assert settings.prefix == "/services/talkex/"
    assert settings.bind == ("127.0.0.1", 10101)
    assert settings.oauth_callback_url == "/services/talkex/oauth_callback"
    assert settings.hub_prefix == "/hub/"
    assert "service-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("url", "bind"),
    [
        ("http://127.0.0.1:10101", ("127.0.0.1", 10101)),
        ("http://[::1]:10101", ("::1", 10101)),
        ("http://localhost:10101", ("localhost", 10101)),
        ("http://hub:10101", ("0.0.0.0", 10101)),
        ("http://10.0.0.7", ("10.0.0.7", 80)),
    ],
)
def test_the_service_listens_where_the_hub_reaches_it(url: str, bind: tuple[str, int]) -> None:
    assert HubSettings.from_env({**ENV, "JUPYTERHUB_SERVICE_URL": url}).bind == bind


def test_outside_a_hub_the_error_names_what_is_missing() -> None:
    with pytest.raises(HubConfigError, match=r"JUPYTERHUB_API_TOKEN.*JUPYTERHUB_CLIENT_ID"):
        HubSettings.from_env({"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:1"})


def test_the_cookie_secret_survives_a_restart_and_is_not_the_token() -> None:
    first, again = HubSettings.from_env(ENV), HubSettings.from_env(dict(ENV))
    assert first.cookie_secret == again.cookie_secret
    assert b"service-secret" not in first.cookie_secret
    other = HubSettings.from_env({**ENV, "JUPYTERHUB_API_TOKEN": "another"})
    assert other.cookie_secret != first.cookie_secret


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/user/alice/lab", "/user/alice/lab"),
        (None, "/home"),
        ("", "/home"),
        ("https://evil.example/", "/home"),
        ("//evil.example/", "/home"),
        ("/\\evil.example/", "/home"),
        ("javascript:alert(1)", "/home"),
    ],
)
def test_after_login_only_paths_on_this_host(given: str | None, expected: str) -> None:
    assert safe_next_url(given, "/home") == expected


def test_behind_the_proxy_the_cap_is_per_user_not_per_address() -> None:
    limits = hub_limits(Limits(max_connections_per_ip=5, max_connections_per_nickname=7))
    assert limits.max_connections_per_ip == 0
    assert limits.max_connections_per_nickname == 7


class _TokenHandler(tornado.web.RequestHandler):
    def initialize(self, hub: HubIdentity) -> None:
        self.hub = hub

    def get(self) -> None:
        self.finish(repr(self.hub.token(self, query=self.get_query_argument("q", "") == "1")))

    def post(self) -> None:
        self.get()


@pytest.fixture
async def token_url() -> AsyncIterator[tuple[str, HubIdentity]]:
    """A route that answers which token :meth:`HubIdentity.token` reads from a request."""
    hub = HubIdentity(HubSettings.from_env(ENV))
    secret = hub.settings.cookie_secret
    app = tornado.web.Application([("/t", _TokenHandler, {"hub": hub})], cookie_secret=secret)
    port = free_port()
    server = app.listen(port, "127.0.0.1")
    yield f"http://127.0.0.1:{port}/t", hub
    server.stop()


async def read(url: str, method: str = "GET", **headers: str) -> str:
    client = tornado.httpclient.AsyncHTTPClient()
    body = b"" if method == "POST" else None
    response = await client.fetch(url, method=method, headers=headers, body=body)
    return response.body.decode()


async def test_tokens_come_from_the_header_the_socket_query_or_the_cookie(
    token_url: tuple[str, HubIdentity],
) -> None:
    url, hub = token_url
    secret = hub.settings.cookie_secret
    cookie = (
        f"{hub.oauth.cookie_name}="
        + create_signed_value(secret, hub.oauth.cookie_name, "from-cookie").decode()
    )
    assert await read(url) == "None"
    assert await read(url, Authorization="token from-header", Cookie=cookie) == "'from-header'"
    assert await read(url, Authorization="Bearer from-bearer") == "'from-bearer'"
    assert await read(url + "?token=from-query") == "None"
    assert await read(url + "?token=from-query&q=1", Cookie=cookie) == "'from-query'"
    assert await read(url, Cookie=cookie) == "'from-cookie'"


async def test_a_cookie_never_authenticates_a_post(token_url: tuple[str, HubIdentity]) -> None:
    url, hub = token_url
    cookie = (
        f"{hub.oauth.cookie_name}="
        + create_signed_value(
            hub.settings.cookie_secret, hub.oauth.cookie_name, "from-cookie"
        ).decode()
    )
    assert await read(url, "POST", Cookie=cookie) == "None"
    assert await read(url, "POST", Authorization="token t") == "'t'"


async def test_a_forged_cookie_is_no_token(token_url: tuple[str, HubIdentity]) -> None:
    url, hub = token_url
    forged = create_signed_value(b"another secret", hub.oauth.cookie_name, "x").decode()
    assert await read(url, Cookie=f"{hub.oauth.cookie_name}={forged}") == "None"
