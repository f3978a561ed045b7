"""``talkex`` as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys

import pytest
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.cli import _limits, build_parser
from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.limits import Limits
from talkex_widget.server.config import ServerConfig


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


def test_serve_defaults_are_the_config_classes_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TALKEX_HOST", "TALKEX_PORT", "TALKEX_PUBSUB"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["serve"])
    config = ServerConfig(token=None)
    assert (args.host, args.port, args.pubsub) == (config.host, config.port, config.pubsub)
    assert (args.idle_timeout, args.node_timeout) == (config.idle_timeout, config.node_timeout)
    assert args.max_body == config.rules.max_body
    assert _limits(args) == Limits() == config.limits


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "http"], "port must be a number"),
        (["serve", "--port", "70000"], "between 0 and 65535"),
        (["serve", "--bogus"], "unrecognized arguments"),
        (["serve", "--host", "0.0.0.0", "--token", ""], "without a token"),
        ([], "required: COMMAND"),
        (["serve", "--pubsub", "bogus://x"], "unknown pubsub URL"),
        (["serve", "--db", "mongo://x"], "unknown scheme"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = talkex(*args)
    assert result.returncode == 2
    assert message in result.stderr


async def start_serve(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    if "--db" not in args:
        args = (*args, "--db", "memory")  # never the user's real history
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


async def test_history_survives_a_restart_and_exports(tmp_path) -> None:
    db = tmp_path / "chat.db"
    for round_ in range(2):
        proc, url = await start_serve("--db", str(db))
        try:
            base, token = url.split("?token=")
            socket = Socket(base, {"nickname": "ada", "token": token}, reconnect=False)
            await socket.connect()
            room = RoomClient(socket, "lobby")
            await room.join()
            if round_ == 0:
                await room.send("first *bold*")
                await room.send("line one\nline two")
            else:
                # After the restart the join reply carries what was said before.
                assert [m["body"] for m in room.ordered()] == ["first *bold*", "line one\nline two"]
                assert await room.send("after restart") == 3
            await socket.disconnect()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 15) == 0
    result = talkex("export", "lobby", "--db", str(db), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["room"] == "lobby"
    assert [m["id"] for m in data["messages"]] == [1, 2, 3]
    out = tmp_path / "lobby.md"
    assert talkex("export", "lobby", "--db", str(db), "-o", str(out)).returncode == 0
    text = out.read_text()
    assert text.startswith("# Talkex transcript: lobby")
    assert "**ada** · " in text and "first *bold*" in text and "line one  \nline two" in text


def test_export_of_a_corrupt_db_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    result = talkex("export", "lobby", "--db", str(bad))
    assert result.returncode == 1
    assert "talkex:" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_a_corrupt_db_with_a_clear_message(tmp_path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not sqlite at all" * 100)
    result = talkex("serve", "--port", "0", "--db", str(bad))
    assert result.returncode == 1
    assert "talkex:" in result.stderr and "Traceback" not in result.stderr
    assert bad.read_bytes() == b"not sqlite at all" * 100  # never silently reset


def test_serve_reports_a_port_in_use(tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = talkex("serve", "--port", port, "--db", "memory")
    assert result.returncode == 1
    assert "cannot listen" in result.stderr
