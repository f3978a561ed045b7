"""``talkex`` as a user runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.cli import build_parser
from talkex_widget.cli.options import limits_from, rules_from
from talkex_widget.cli.secrets import read_secret_file
from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.auth import read_token
from talkex_widget.core.limits import Limits
from talkex_widget.server.config import ServerConfig

from .helpers import eventually, free_port
from .processes import TalkexServe, talkex


def test_help_documents_every_serve_option() -> None:
    out = talkex("serve", "--help").stdout
    for option in ("--host", "--port", "--token", "--allow-origin", "--idle-timeout"):
        assert option in out
    for option in ("--token-file", "--secret-file", "TALKEX_TOKEN_FILE", "TALKEX_SECRET_FILE"):
        assert option in out
    assert "--secret-file" in talkex("token", "--help").stdout


def test_serve_defaults_are_the_config_classes_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TALKEX_HOST", "TALKEX_PORT", "TALKEX_PUBSUB"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["serve"])
    config = ServerConfig(token=None)
    assert (args.host, args.port, args.pubsub) == (config.host, config.port, config.pubsub)
    assert (args.idle_timeout, args.node_timeout) == (config.idle_timeout, config.node_timeout)
    assert (args.max_body, args.max_attachment) == (
        config.rules.max_body,
        config.rules.max_attachment,
    )
    assert limits_from(args) == Limits() == config.limits
    assert rules_from(args) == config.rules


def test_each_limit_option_sets_its_field() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--message-rate=5/2",
            "--frame-rate=7/1.5",
            "--max-frame-bytes=100",
            "--max-connections-per-nickname=4",
            "--max-connections-per-ip=0",
            "--max-connections=3",
            "--max-send-buffer=9",
            "--handshake-timeout=2.5",
            "--max-body=10",
            "--max-attachment=0",
        ]
    )
    assert limits_from(args) == Limits(
        max_frame_bytes=100,
        messages_per_window=5,
        message_window=2.0,
        frames_per_window=7,
        frame_window=1.5,
        max_connections_per_nickname=4,
        max_connections_per_ip=0,
        max_connections=3,
        max_send_buffer_bytes=9,
        handshake_timeout=2.5,
    )
    rules = rules_from(args)
    assert (rules.max_body, rules.max_attachment) == (10, 0)


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


def serve(tmp_path: Path, *options: str, **kwargs: Any) -> TalkexServe:
    """A ``talkex serve`` child on a free port, its output in ``tmp_path``; start it with
    ``await asyncio.to_thread(s.start)`` (the test's loop keeps running meanwhile)."""
    logs = len(list(tmp_path.glob("serve-*.log")))
    return TalkexServe(*options, log=tmp_path / f"serve-{logs}.log", **kwargs)


async def stop(server: TalkexServe, sig: signal.Signals = signal.SIGTERM) -> int | None:
    return await asyncio.to_thread(server.stop, sig)


async def test_serve_prints_a_token_url_and_sigterm_closes_sockets_with_1001(
    tmp_path: Path,
) -> None:
    s = serve(tmp_path)
    await asyncio.to_thread(s.start)
    try:
        token = s.token
        assert token is not None and len(token) >= 32
        assert f"{s.url}?token={token}" in s.log.read_text()
        page = await AsyncHTTPClient().fetch(
            f"{s.url}?token={token}", follow_redirects=False, raise_error=False
        )
        assert page.code == 302
        socket = Socket(s.url, {"nickname": "alice", "token": token}, reconnect=False)
        await socket.connect()
        room = RoomClient(socket, "lobby")
        await room.join()
        assert await room.send("hello") == 1
        conn = socket._conn
        assert conn is not None
        assert await stop(s) == 0
        assert conn.close_code == 1001
    finally:
        s.kill()


async def test_sigint_also_exits_cleanly(tmp_path: Path) -> None:
    s = serve(tmp_path, token="")
    await asyncio.to_thread(s.start)
    assert await stop(s, signal.SIGINT) == 0


async def test_history_survives_a_restart_and_exports(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    s = serve(tmp_path, db=str(db), token="restart-token")
    for round_ in range(2):
        await asyncio.to_thread(s.start)
        try:
            socket = Socket(s.url, {"nickname": "ada", "token": "restart-token"}, reconnect=False)
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
            assert await stop(s) == 0
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


# -- secrets from files (issue 12, finding 8) --------------------------------------------------

SECRET = "s3cret-" + "x" * 33
"""Long enough for any minimum length the server asks of ``--secret``."""


def secret_file(directory: Path, content: str | bytes, name: str = "secret") -> Path:
    """A file only its owner may read, as a secret file should be."""
    path = directory / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(0o600)
    return path


def command_line(pid: int) -> str:
    """What ``ps`` shows every local user: the process's arguments."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


async def test_a_token_file_keeps_the_token_out_of_the_process_list(tmp_path: Path) -> None:
    token = "tok-" + "y" * 40
    s = serve(tmp_path, "--token-file", str(secret_file(tmp_path, token + "\n", "token")))
    await asyncio.to_thread(s.start)
    try:
        assert s.token == token  # the newline is not part of it
        assert token not in command_line(s.pid)
        socket = Socket(s.url, {"nickname": "ada", "token": token}, reconnect=False)
        await socket.connect()
        await socket.disconnect()
        assert "shows in ps" not in s.log.read_text()
    finally:
        assert await stop(s) == 0


async def test_a_secret_file_signs_and_checks_tokens_out_of_the_process_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = secret_file(tmp_path, SECRET + "\n")
    s = serve(tmp_path, "--secret-file", str(path))
    await asyncio.to_thread(s.start)
    try:
        assert SECRET not in command_line(s.pid)
        issued = talkex("token", "ada", "--secret-file", str(path))
        assert issued.returncode == 0, issued.stderr
        monkeypatch.setenv("TALKEX_SECRET_FILE", str(path))  # the environment works as well
        from_env = talkex("token", "bob")
        assert from_env.returncode == 0, from_env.stderr
        for nickname, result in (("ada", issued), ("bob", from_env)):
            token = result.stdout.strip()
            assert read_token(SECRET, token) == nickname
            socket = Socket(s.url, {"nickname": "mallory", "token": token}, reconnect=False)
            await socket.connect()
            room = RoomClient(socket, "lobby")
            await room.join()
            await eventually(lambda r=room, n=nickname: n in r.presence.statuses())
            await socket.disconnect()
    finally:
        assert await stop(s) == 0


def test_a_secret_on_the_command_line_works_with_a_warning(tmp_path: Path) -> None:
    result = talkex("token", "ada", "--secret", SECRET)
    assert result.returncode == 0
    assert read_token(SECRET, result.stdout.strip()) == "ada"
    assert "--secret on the command line is visible to every local user (ps)" in result.stderr
    assert SECRET not in result.stderr


def test_a_secret_file_others_can_read_works_with_a_warning(tmp_path: Path) -> None:
    path = secret_file(tmp_path, SECRET)
    path.chmod(0o644)
    result = talkex("token", "ada", "--secret-file", str(path))
    assert result.returncode == 0
    assert read_token(SECRET, result.stdout.strip()) == "ada"
    assert "can be read by other users (mode 0o644): chmod 600 it" in result.stderr


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("abc", "abc"),
        ("abc\n", "abc"),
        ("abc\r\n", "abc"),
        ("abc\n\n", "abc\n"),  # one newline, the one an editor or echo adds
        (" abc \n", " abc "),
    ],
)
def test_one_trailing_newline_is_dropped(tmp_path: Path, text: str, secret: str) -> None:
    assert read_secret_file(secret_file(tmp_path, text), "--secret-file") == secret


@pytest.mark.parametrize("command", [["token", "ada"], ["serve", "--port", "0", "--db", "memory"]])
@pytest.mark.parametrize(
    ("make_args", "env", "message"),
    [
        (lambda d: ["--secret-file", str(d / "missing")], {}, "missing: no such file"),
        (lambda d: ["--secret-file", str(d)], {}, "cannot read it (Is a directory)"),
        (lambda d: ["--secret-file", str(secret_file(d, ""))], {}, "the file is empty"),
        (lambda d: ["--secret-file", str(secret_file(d, "\n"))], {}, "the file is empty"),
        (
            lambda d: ["--secret-file", str(secret_file(d, b"caf\xe9", "latin"))],
            {},
            "not UTF-8 text",
        ),
        (
            lambda d: ["--secret", SECRET, "--secret-file", str(secret_file(d, SECRET))],
            {},
            "argument --secret-file: not allowed with argument --secret",
        ),
        (
            lambda d: [],
            {"TALKEX_SECRET": SECRET, "TALKEX_SECRET_FILE": "x"},
            "both TALKEX_SECRET and TALKEX_SECRET_FILE are set: keep one",
        ),
        (lambda d: [], {"TALKEX_SECRET_FILE": "/nonexistent/secret"}, "no such file"),
    ],
)
def test_unusable_secret_files_exit_2_with_a_clear_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    make_args: Callable[[Path], list[str]],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = talkex(*command, *make_args(tmp_path))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token-file", "/nonexistent/token"], "--token-file /nonexistent/token: no such file"),
        (["--token", "t", "--token-file", "f"], "not allowed with argument --token"),
    ],
)
def test_unusable_token_files_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = talkex("serve", "--port", "0", "--db", "memory", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_an_empty_token_file_does_not_turn_authentication_off(tmp_path: Path) -> None:
    result = talkex(
        "serve",
        "--port",
        "0",
        "--db",
        "memory",
        "--token-file",
        str(secret_file(tmp_path, "\n", "token")),
    )
    assert result.returncode == 2
    assert "the file is empty" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster-secret-file", "/nonexistent/c"], "--cluster-secret-file /nonexistent/c: no"),
        (
            ["--cluster-secret", "short"],
            "the cluster secret is 5 bytes; it must be at least 32 bytes",
        ),
    ],
)
def test_unusable_cluster_secrets_exit_2_with_a_clear_message(
    args: list[str], message: str
) -> None:
    result = talkex("serve", "--port", "0", "--db", "memory", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "nickname", ["Ada\u034f", "\u3164", "\u2800", "Ada\ufe0f", "Ada\U000e0100"]
)
def test_token_refuses_invisible_nicknames(tmp_path: Path, nickname: str) -> None:
    """Issue 12, finding 10: a signed name is held to the socket's rules."""
    result = talkex("token", nickname, "--secret-file", str(secret_file(tmp_path, SECRET)))
    assert result.returncode == 2
    assert "nickname may not contain control, invisible or filler characters" in result.stderr
    assert result.stdout == ""


def test_token_refuses_a_short_secret_as_serve_does(tmp_path: Path) -> None:
    """A token signed with a secret the server would refuse is of no use to anyone."""
    result = talkex("token", "ada", "--secret-file", str(secret_file(tmp_path, "short")))
    assert result.returncode == 2
    assert "the secret is 5 bytes; it must be at least 32 bytes" in result.stderr
    assert result.stdout == ""


def test_a_redis_password_in_an_argument_is_warned_about_and_never_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"  # nobody there: exits 1
    result = talkex("serve", "--port", "0", "--db", url, "--pubsub", url.replace("/0", "/1"))
    assert result.returncode == 1
    for option, env in (("--db", "TALKEX_DB"), ("--pubsub", "TALKEX_PUBSUB")):
        assert f"{option} holds a password, visible to every local user (ps)" in result.stderr
        assert f"give the URL in {env} instead" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    monkeypatch.setenv("TALKEX_DB", url)  # where it belongs: no warning
    result = talkex("serve", "--port", "0")
    assert result.returncode == 1
    assert "holds a password" not in result.stderr and "hunter2" not in result.stderr
