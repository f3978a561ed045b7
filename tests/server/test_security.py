"""Issue 12, driven as an attacker would: raw HTTP and WebSocket against a server in this loop.

Findings 5 (bodies and connection counts), 6 (DNS rebinding with auth off), 7 (who may add
origins), 8 (signed tokens expire on open sockets; short secrets), 9 (what ``/healthz`` tells
a stranger) and 11 (one person's connection slots). Logs (1) and memory under large bodies
(5) need a real ``talkex serve`` process: :mod:`tests.server.test_security_process`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from talkex_widget.core.auth import MAX_ORIGINS, issue_token
from talkex_widget.core.limits import Limits
from talkex_widget.server.app import ServerConfig, TalkexServer
from tests.conftest import RELAXED, TOKEN, Raw, base_url, ws_url
from tests.helpers import RawSocket, eventually

SECRET = "a-team-secret-that-is-long-enough-for-hmac"
BIG = 59_000_000
"""The body size of the review's probe: three of these took the server from 30 to 207 MB."""


async def raw_http(port: int, head: str, *, timeout: float = 5.0) -> tuple[int, bytes]:
    """Send only a request's head (no body, whatever it declares) and read the answer: the
    status code, and the rest as bytes (``0, b""`` if the server hung up without one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        answer = await asyncio.wait_for(reader.read(65536), timeout)
    finally:
        writer.close()
    if not answer:
        return 0, b""
    return int(answer.split(b" ", 2)[1]), answer


@pytest.fixture
async def open_server() -> AsyncIterator[TalkexServer]:
    """Authentication off (``--token ''``), on loopback: the mode DNS rebinding targets."""
    srv = TalkexServer(ServerConfig(port=0, token=None, limits=RELAXED))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


# -- 5: bodies are refused on their headers; connections are capped in all ------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "api/origins"),
        ("POST", f"api/origins?token={TOKEN}"),
        ("PUT", "api/rooms/lobby/messages"),
        ("POST", ""),
        ("POST", "healthz"),
        ("GET", "socket/websocket?vsn=2.0.0"),
        ("POST", "no/such/route"),
    ],
)
async def test_a_large_declared_body_gets_413_before_it_is_sent(
    server: TalkexServer, method: str, path: str
) -> None:
    status, answer = await raw_http(
        server.port,
        f"{method} /{path} HTTP/1.1\nHost: 127.0.0.1:{server.port}\n"
        f"Content-Type: application/json\nContent-Length: {BIG}\n",
    )
    assert status == 413, answer
    assert b"request body too large" in answer


async def test_a_large_chunked_body_is_cut_off(server: TalkexServer) -> None:
    """No Content-Length to refuse on: past the limit the server stops reading and hangs up,
    so the sender's writes fail long before 13 MB are through."""
    _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST /api/origins HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    with pytest.raises(ConnectionError):
        for _ in range(200):
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 5)
    writer.close()


async def test_a_small_body_still_works(server: TalkexServer) -> None:
    response = await AsyncHTTPClient().fetch(
        base_url(server) + "api/origins",
        method="POST",
        body=json.dumps({"origin": "http://127.0.0.1:8888"}),
        headers={"Authorization": f"token {TOKEN}"},
    )
    assert "http://127.0.0.1:8888" in json.loads(response.body)["allowed"]


@pytest.mark.server_config(limits=Limits(max_connections=3, max_connections_per_ip=0))
async def test_connections_are_capped_in_all_with_503(server: TalkexServer, raw: Raw) -> None:
    first = await raw("one")
    await raw("two")
    await raw("three")
    with pytest.raises(HTTPClientError) as info:
        await raw("four")
    assert info.value.code == 503
    assert "server is full" in json.loads(info.value.response.body)["error"]
    first.close()
    await eventually(lambda: len(server.service.sessions) == 2, what="a slot freed")
    await raw("four")


# -- 6: DNS rebinding with authentication off ------------------------------------------------


REBOUND = "rebind.evil.example"


@pytest.mark.parametrize("path", ["", "rooms/lobby", "healthz", "api/rooms/lobby/messages"])
async def test_open_mode_refuses_a_rebinding_host_on_pages_and_api(
    open_server: TalkexServer, path: str
) -> None:
    host = f"{REBOUND}:{open_server.port}"
    status, answer = await raw_http(
        open_server.port, f"GET /{path} HTTP/1.1\nHost: {host}\nOrigin: http://{host}\n"
    )
    assert status == 403, answer
    assert b"answers only to localhost" in answer


async def test_open_mode_refuses_a_rebinding_host_on_the_socket(
    open_server: TalkexServer,
) -> None:
    host = f"{REBOUND}:{open_server.port}"
    url = f"ws://127.0.0.1:{open_server.port}/socket/websocket?vsn=2.0.0&nickname=eve"
    with pytest.raises(HTTPClientError) as info:
        await RawSocket.open(url, Host=host, Origin=f"http://{host}")
    assert info.value.code == 403


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "127.0.0.1:{port}", "[::1]:{port}"])
async def test_open_mode_serves_loopback_names(open_server: TalkexServer, name: str) -> None:
    host = name.format(port=open_server.port)
    url = f"ws://127.0.0.1:{open_server.port}/socket/websocket?vsn=2.0.0&nickname=ann"
    sock = await RawSocket.open(url, Host=host, Origin=f"http://{host}")
    sock.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await sock.reply_to("1"))["status"] == "ok"
    sock.close()
    status, _ = await raw_http(open_server.port, f"GET /healthz HTTP/1.1\nHost: {host}\n")
    assert status == 200


async def test_with_a_token_any_host_still_needs_the_token(server: TalkexServer) -> None:
    """A server with a token serves any name (a hub, a LAN address); the token keeps the
    rebinding page out, since it has neither the token nor the cookie."""
    host = f"{REBOUND}:{server.port}"
    status, _ = await raw_http(server.port, f"GET / HTTP/1.1\nHost: {host}\n")
    assert status == 403
    status, _ = await raw_http(server.port, f"GET /?token={TOKEN} HTTP/1.1\nHost: {host}\n")
    assert status == 302


# -- 7: only the server's own token vouches for origins, and not forever ----------------------


@pytest.mark.server_config(secret=SECRET, limits=RELAXED)
async def test_a_signed_token_cannot_add_an_origin(server: TalkexServer) -> None:
    signed = issue_token(SECRET, "mallory", 3600)
    client = AsyncHTTPClient()
    api = base_url(server) + "api/origins"
    body = json.dumps({"origin": "https://mallory.example"})
    for headers, query in [({"Authorization": f"token {signed}"}, ""), ({}, f"?token={signed}")]:
        response = await client.fetch(
            api + query, method="POST", body=body, headers=headers, raise_error=False
        )
        assert response.code == 403, response.body
        assert "only the server's own token" in json.loads(response.body)["error"]
    with pytest.raises(HTTPClientError):  # so her page still cannot open a socket
        await RawSocket.open(
            ws_url(server, token=signed, nickname="mallory"), Origin="https://mallory.example"
        )
    response = await client.fetch(
        api, method="POST", body=body, headers={"Authorization": f"token {TOKEN}"}
    )
    assert "https://mallory.example" in json.loads(response.body)["allowed"]


async def test_registered_origins_stay_bounded(server: TalkexServer) -> None:
    client = AsyncHTTPClient()
    allowed: list[str] = []
    for port in range(MAX_ORIGINS + 5):
        response = await client.fetch(
            base_url(server) + "api/origins",
            method="POST",
            body=json.dumps({"origin": f"http://127.0.0.1:{10_000 + port}"}),
            headers={"Authorization": f"token {TOKEN}"},
        )
        allowed = json.loads(response.body)["allowed"]
    assert len(allowed) == MAX_ORIGINS
    assert "http://127.0.0.1:10000" not in allowed  # the oldest was dropped
    assert f"http://127.0.0.1:{10_000 + MAX_ORIGINS + 4}" in allowed


# -- 8: a signed token's expiry ends its socket; secrets long enough -------------------------


@pytest.mark.server_config(secret=SECRET, limits=RELAXED)
async def test_a_socket_is_closed_when_its_signed_token_expires(server: TalkexServer) -> None:
    token = issue_token(SECRET, "ada", ttl=1.5, now=time.time())
    sock = await RawSocket.open(ws_url(server, token=token, nickname="ada"))
    assert (await sock.join())["status"] == "ok"
    start = time.monotonic()
    while (await sock.recv(10)) is not None:
        pass
    assert time.monotonic() - start < 5
    assert sock.conn.close_code == 1008
    assert sock.conn.close_reason == "token expired"
    await eventually(lambda: not server.service.rooms, what="ada left the room")
    with pytest.raises(HTTPClientError) as info:  # and the same token no longer connects
        await RawSocket.open(ws_url(server, token=token, nickname="ada"))
    assert info.value.code == 403


@pytest.mark.server_config(secret=SECRET, limits=RELAXED)
async def test_a_long_lived_token_keeps_its_socket(server: TalkexServer) -> None:
    sock = await RawSocket.open(ws_url(server, token=issue_token(SECRET, "bo", ttl=3600)))
    await asyncio.sleep(0.3)
    sock.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await sock.reply_to("1"))["status"] == "ok"
    sock.close()


@pytest.mark.parametrize("secret", ["s3cret", "x" * 31, "é" * 15])
def test_a_secret_shorter_than_32_bytes_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        TalkexServer(ServerConfig(port=0, secret=secret))
    ServerConfig(secret="é" * 16).check()  # 32 bytes in UTF-8


# -- 9: /healthz tells a stranger only whether the server is up -------------------------------


async def test_healthz_is_bare_without_a_token(server: TalkexServer, raw: Raw) -> None:
    await raw("alice")
    for headers in ("", "Authorization: token wrong\n", f"Cookie: talkex-token-0={TOKEN}\n"):
        status, answer = await raw_http(
            server.port, f"GET /healthz HTTP/1.1\nHost: 127.0.0.1:{server.port}\n{headers}"
        )
        assert status == 200
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"status": "ok"}


# -- 11: a name's connection slots belong to whoever the name is -----------------------------


def from_address(url: str, address: str) -> HTTPRequest:
    """A request sent from another loopback address (another machine, as the server sees it)."""
    return HTTPRequest(url, network_interface=address)


@pytest.mark.server_config(limits=Limits(max_connections_per_nickname=2))
async def test_with_a_shared_token_a_squatter_cannot_lock_a_name_out(
    server: TalkexServer,
) -> None:
    """Twenty sockets named Ada from one address used to lock the real Ada out."""
    url = ws_url(server, nickname="Ada")
    squatter = [await websocket_connect(from_address(url, "127.0.0.2")) for _ in range(2)]
    with pytest.raises(HTTPClientError) as info:  # the cap still holds, for the squatter
        await websocket_connect(from_address(url, "127.0.0.2"))
    assert info.value.code == 429
    ada = await RawSocket.open(url)  # from her own address
    ada.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await ada.reply_to("1"))["status"] == "ok"
    ada.close()
    for conn in squatter:
        conn.close()


@pytest.mark.server_config(secret=SECRET, limits=Limits(max_connections_per_nickname=2))
async def test_with_a_secret_the_cap_is_per_signed_name(server: TalkexServer) -> None:
    mallory = issue_token(SECRET, "mallory", 3600)
    url = ws_url(server, token=mallory, nickname="ada")  # asks for ada, is mallory
    squatter = [await RawSocket.open(url) for _ in range(2)]
    with pytest.raises(HTTPClientError) as info:
        await RawSocket.open(url)
    assert "too many connections for 'mallory'" in info.value.response.body.decode()
    query = urlencode({"vsn": "2.0.0", "token": issue_token(SECRET, "ada", 3600)})
    ada = await RawSocket.open(f"ws://127.0.0.1:{server.port}/socket/websocket?{query}")
    ada.send([None, "1", "phoenix", "heartbeat", {}])
    assert (await ada.reply_to("1"))["status"] == "ok"
    for sock in [*squatter, ada]:
        sock.close()
