"""``talkex`` as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys

import pytest
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.client import RoomClient, Socket


def talkex(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "talkex_widget", *args],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_help_documents_every_serve_option() -> None:
    out = talkex("serve", "--help").stdout
    for option in ("--host", "--port", "--token", "--allow-origin", "--idle-timeout"):
        assert option in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "http"], "port must be a number"),
        (["serve", "--port", "70000"], "between 0 and 65535"),
        (["serve", "--bogus"], "unrecognized arguments"),
        (["serve", "--host", "0.0.0.0", "--token", ""], "without a token"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = talkex(*args)
    assert result.returncode == 2
    assert message in result.stderr


async def start_serve(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "talkex_widget",
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line, "talkex serve exited before printing its URL"
        match = re.search(r"(http://\S+)", line)
        if match:
            return proc, match.group(1)


async def test_serve_prints_a_token_url_and_sigterm_closes_sockets_with_1001() -> None:
    proc, url = await start_serve()
    try:
        base, token = url.split("?token=")
        assert len(token) >= 32
        page = await AsyncHTTPClient().fetch(url, follow_redirects=False, raise_error=False)
        assert page.code == 302
        socket = Socket(base, {"nickname": "alice", "token": token}, reconnect=False)
        await socket.connect()
        room = RoomClient(socket, "lobby")
        await room.join()
        assert await room.send("hello") == 1
        conn = socket._conn
        assert conn is not None
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
        assert conn.close_code == 1001
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigint_also_exits_cleanly() -> None:
    proc, _url = await start_serve("--token", "")
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 15) == 0
