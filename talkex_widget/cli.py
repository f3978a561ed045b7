"""The ``talkex`` command: ``serve`` a chat server (more subcommands join as they land)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .server import ServerConfig

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
    return parser


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
    parser.error(f"unknown command {args.command}")  # unreachable: argparse checks choices
    return 2


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .server import ServerConfig

    config = ServerConfig(
        host=args.host,
        port=args.port,
        allow_origins=tuple(args.allow_origin),
        idle_timeout=args.idle_timeout,
    )
    if args.token is not None:
        config.token = args.token or None
    try:
        config.check()
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(_run(config))


async def _run(config: ServerConfig) -> int:
    from .server import TalkexServer

    server = TalkexServer(config)
    try:
        await server.start()
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
