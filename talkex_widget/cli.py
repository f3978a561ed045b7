"""The ``talkex`` command: ``serve`` a chat server (more subcommands join as they land)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .server import TalkexServer

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkex",
        description="Talkex: chat with presence for people who work in notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"talkex {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run a standalone chat server",
        description="Run a Talkex server: web pages at /, the Phoenix socket at /socket/websocket.",
    )
    serve.add_argument(
        "--host",
        default=os.environ.get("TALKEX_HOST", "127.0.0.1"),
        help="interface to bind (default: 127.0.0.1; env TALKEX_HOST)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=int(os.environ.get("TALKEX_PORT", "4000")),
        help="TCP port, 0 for any free port (default: 4000; env TALKEX_PORT)",
    )
    serve.add_argument(
        "--token",
        default=os.environ.get("TALKEX_TOKEN"),
        help="access token (default: random, printed in the start-up URL; "
        "'' turns auth off, loopback hosts only; env TALKEX_TOKEN)",
    )
    _add_db_option(serve)
    serve.add_argument(
        "--pubsub",
        default=os.environ.get("TALKEX_PUBSUB", "memory://"),
        metavar="URL",
        help="pubsub shared by several server processes: memory:// (one process, default) "
        "or redis://HOST:PORT/DB (env TALKEX_PUBSUB)",
    )
    serve.add_argument(
        "--node-name",
        default=os.environ.get("TALKEX_NODE_NAME"),
        metavar="NAME",
        help="this process's name among servers on one pubsub; keep it across restarts "
        "(default: hostname:port)",
    )
    serve.add_argument(
        "--node-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a server silent this long is considered down and its users leave (default: 30)",
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="extra browser origin allowed to open the socket with the cookie "
        "(repeatable), e.g. https://hub.example.org",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="close sockets silent for this long (default: 60)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (default: info)",
    )

    export = commands.add_parser(
        "export",
        help="write a room's transcript",
        description="Write every message of ROOM, oldest first, from the history store.",
    )
    export.add_argument("room", metavar="ROOM", help="room name, e.g. lobby")
    export.add_argument(
        "--format",
        choices=["markdown", "json"],
        default="markdown",
        help="transcript format (default: markdown)",
    )
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE instead of standard output"
    )
    _add_db_option(export)
    return parser


def default_db_url() -> str:
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("talkex", appauthor=False)) / "talkex.db")


def db_url(value: str) -> str:
    """``--db`` accepts a store URL, ``memory``, or a plain file path."""
    if "://" in value:
        return value
    if value == "memory":
        return "memory://"
    return "sqlite:///" + str(Path(value).expanduser().resolve())


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=db_url,
        default=os.environ.get("TALKEX_DB"),
        metavar="URL|PATH",
        help="history store: a SQLite file path, sqlite:///PATH, or 'memory' "
        "(default: talkex.db in the user data dir; env TALKEX_DB)",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper() if hasattr(args, "log_level") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return _serve(parser, args)
    if args.command == "export":
        return asyncio.run(_export(args))
    parser.error(f"unknown command {args.command}")  # unreachable: argparse checks choices
    return 2


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .server import ServerConfig, TalkexServer

    config = ServerConfig(
        db=args.db or default_db_url(),
        host=args.host,
        port=args.port,
        allow_origins=tuple(args.allow_origin),
        idle_timeout=args.idle_timeout,
        pubsub=args.pubsub,
        node_name=args.node_name,
        node_timeout=args.node_timeout,
    )
    if args.token is not None:
        config.token = args.token or None
    try:
        server = TalkexServer(config)  # checks the config and the backend URLs
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(_run(server))


async def _run(server: TalkexServer) -> int:
    from .history import HistoryError

    config = server.config
    try:
        await server.start()
    except HistoryError as exc:
        print(f"talkex: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"talkex: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Talkex {__version__} is serving. Open in a browser:\n    {server.url}", flush=True)
    await stop.wait()
    print("talkex: shutting down", flush=True)
    await server.stop()
    return 0


async def _export(args: argparse.Namespace) -> int:
    from .history import HistoryError, from_url
    from .transcript import render

    store = from_url(args.db or default_db_url())
    try:
        await store.start()
        messages = []
        after = 0
        while True:
            page, more = await store.after(args.room, after, 500)
            messages.extend(page)
            if not more or not page:
                break
            after = page[-1].id
    except HistoryError as exc:
        print(f"talkex: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    text = render(args.room, messages, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
