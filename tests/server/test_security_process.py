"""Issue 12 findings 1 and 5 against a real ``talkex serve``: what it logs, what it holds.

A log is the process's whole output at ``--log-level debug``, Tornado's access log included;
memory is the process's peak resident set, read from ``/proc``. Both need the server in a process
of its own, as a user runs it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import urllib.request
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from talkex_widget.core.auth import issue_token
from tests.helpers import RawSocket
from tests.processes import TalkexServe

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

SECRET = "a-server-secret-that-is-long-enough-for-hmac"


def peak_rss_bytes(pid: int) -> int:
    """The most memory the process has held (``VmHWM``): a body buffered then freed counts."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def knock(base: str, port: int, token: str) -> None:
    """Present ``token`` everywhere a client may put one, on every kind of route."""
    client = AsyncHTTPClient()
    cookie = {"Cookie": f"talkex-token-{port}={token}"}
    header = {"Authorization": f"token {token}"}
    requests: list[tuple[str, str, dict[str, str], str | None]] = [
        ("GET", f"?token={token}", {}, None),
        ("GET", f"rooms/lobby?token={token}&nickname=ada", {}, None),
        ("GET", "rooms/lobby", cookie, None),
        ("GET", f"?{token}", {}, None),  # pasted without its name
        ("GET", "healthz", header, None),
        ("GET", f"healthz?token={token}", {}, None),
        ("GET", f"api/rooms/lobby/messages?token={token}&limit=5", {}, None),
        ("GET", "api/rooms/lobby/messages", header, None),
        ("POST", f"api/origins?token={token}", {}, '{"origin": "http://127.0.0.1:1"}'),
        ("POST", "api/origins", header, '{"origin": "http://127.0.0.1:2"}'),
        ("POST", "api/origins", header, "not json"),
        ("GET", f"no/such/page?token={token}", {}, None),
        ("GET", f"static/missing.js?token={token}", {}, None),
    ]
    for method, path, headers, body in requests:
        await client.fetch(
            base + path,
            method=method,
            headers=headers,
            body=body,
            raise_error=False,
            follow_redirects=False,
        )
    socket_url = f"ws://127.0.0.1:{port}/socket/websocket?vsn=2.0.0"
    for url, headers in [
        (f"{socket_url}&nickname=ada&token={token}", {}),
        (f"{socket_url}&nickname=ada", cookie),
        (f"{socket_url}&nickname=ada", header),
        (f"{socket_url}&nickname=bad%07name&token={token}", {}),
    ]:
        try:
            sock = await RawSocket.open(url, **headers)
        except HTTPClientError:
            continue
        await sock.join()
        sock.close()


def assert_logged_nowhere(log: Path, secrets_: list[str], banner: str) -> None:
    text = log.read_text(errors="replace")
    assert text.count(banner) == 1, "the start-up URL is how the token is handed over"
    text = text.replace(banner, "")
    assert "GET /" in text  # the access log is on: there was something to leak
    for secret in secrets_:
        assert secret not in text, f"{secret[:12]}... is in the log:\n{text[-3000:]}"


async def test_no_token_or_secret_is_logged_right_or_wrong(tmp_path: Path) -> None:
    """Finding 1: the access log showed ``GET /socket/websocket?...&token=...``."""
    token = "shared-" + secrets.token_hex(16)
    wrong = "wrong-" + secrets.token_hex(16)
    signed = issue_token(SECRET, "ada", 3600)
    forged = issue_token(SECRET, "root", 3600)[:-4] + "AAAA"
    expired = issue_token(SECRET, "ada", -10)
    server = TalkexServe("--log-level=debug", log=tmp_path / "shared.log", token=token)
    signing = TalkexServe(
        "--log-level=debug", f"--secret={SECRET}", log=tmp_path / "signed.log", token=token
    )
    for process, presented in [(server, [token, wrong]), (signing, [signed, forged, expired])]:
        await asyncio.to_thread(process.start)
        try:
            for given in presented:
                await knock(process.url, process.port, given)
        finally:
            await asyncio.to_thread(process.stop)
        banner = f"http://127.0.0.1:{process.port}/?token={token}"
        assert_logged_nowhere(process.log, [token, wrong, signed, forged, expired, SECRET], banner)


def post_big(port: int, size: int, answers: list[bytes]) -> None:
    """What the review did: a large unauthenticated POST, body sent at once, as curl would."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        head = (
            f"POST /api/origins HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        block = b"x" * (1024 * 1024)
        try:
            for _ in range(size // len(block)):
                sock.sendall(block)
        except OSError:  # refused early: the server closed on the rest
            pass
        try:
            answers.append(sock.recv(4096))
        except OSError:
            answers.append(b"")


def test_memory_stays_bounded_under_large_unauthenticated_posts(tmp_path: Path) -> None:
    """Finding 5: three 59 MB POSTs took the server from 30 MB to 207 MB."""
    with TalkexServe("--log-level=warning", log=tmp_path / "serve.log") as server:
        before = peak_rss_bytes(server.pid)
        answers: list[bytes] = []
        posts = [
            threading.Thread(target=post_big, args=(server.port, 59_000_000, answers))
            for _ in range(3)
        ]
        for post in posts:
            post.start()
        for post in posts:
            post.join(60)
        growth = peak_rss_bytes(server.pid) - before
        assert growth < 20 * 1024 * 1024, f"RSS grew by {growth / 1e6:.0f} MB"
        assert all(a.startswith(b"HTTP/1.1 413") or a == b"" for a in answers), answers
        with urllib.request.urlopen(server.url + "healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}  # and it serves on
