"""The ``talkex`` command: ``serve`` a chat server, issue a signed ``token``, ``export`` a room.

The options are declared in :mod:`.options`; secrets given as files or in the environment are
read by :mod:`.secrets`. The web stack is imported only by the command that needs it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from talkex_widget.cli.options import build_parser, limits_from, rules_from
from talkex_widget.cli.secrets import secret_value, warn_if_password_argument
from talkex_widget.core.version import __version__

if TYPE_CHECKING:
    from talkex_widget.server.app import TalkexServer
    from talkex_widget.server.config import ServerConfig

__all__ = ["build_parser", "main"]


def default_db_url() -> str:
    """The history of ``serve`` and ``export`` when ``--db`` is not given: per user."""
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("talkex", appauthor=False)) / "talkex.db")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper() if hasattr(args, "log_level") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return _serve(parser, args)
    if args.command == "token":
        return _token(parser, args)
    if args.command == "export":
        return asyncio.run(_export(args))
    parser.error(f"unknown command {args.command}")  # unreachable: argparse checks choices
    return 2


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from talkex_widget.server.app import TalkexServer
    from talkex_widget.server.config import ServerConfig

    warn_if_password_argument("--pubsub", "TALKEX_PUBSUB", args.pubsub)
    warn_if_password_argument("--db", "TALKEX_DB", args.db)
    config = ServerConfig(
        db=args.db or default_db_url(),
        host=args.host,
        port=args.port,
        allow_origins=tuple(args.allow_origin),
        idle_timeout=args.idle_timeout,
        pubsub=args.pubsub,
        node_name=args.node_name,
        node_timeout=args.node_timeout,
        cluster_secret=secret_value(parser, args, "cluster-secret") or None,
        secret=secret_value(parser, args, "secret") or None,
        limits=limits_from(args),
        rules=rules_from(args),
    )
    token = secret_value(parser, args, "token")
    if token is not None:
        config.token = token or None
    if args.jupyterhub:
        _as_hub_service(parser, config)
    try:
        server = TalkexServer(config)  # checks the config and the backend URLs
    except ValueError as exc:
        parser.error(str(exc))
    return asyncio.run(_run(server))


def _as_hub_service(parser: argparse.ArgumentParser, config: ServerConfig) -> None:
    """Hub mode: the hub chose the address and the prefix, and its login replaces tokens."""
    try:
        from talkex_widget.server.hub import HubConfigError, HubSettings
    except ImportError as exc:
        parser.error(
            f"--jupyterhub needs JupyterHub: pip install 'talkex-widget[jupyterhub]' ({exc})"
        )
    try:
        config.hub = HubSettings.from_env()
        config.host, config.port = config.hub.bind
    except HubConfigError as exc:
        parser.error(str(exc))
    config.secret, config.allow_origins = None, ()


async def _run(server: TalkexServer) -> int:
    from talkex_widget.backends.history import HistoryError

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


def _token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from talkex_widget.core.auth import check_secret, issue_token
    from talkex_widget.core.rooms import DEFAULT_RULES, RoomError

    secret = secret_value(parser, args, "secret")
    if not secret:
        parser.error(
            "token needs the server's secret: --secret-file, TALKEX_SECRET_FILE, "
            "TALKEX_SECRET or --secret"
        )
    try:
        check_secret(secret)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        nickname = DEFAULT_RULES.nickname(args.nickname)
    except RoomError as exc:
        parser.error(exc.reason)
    print(issue_token(secret, nickname, args.ttl))
    return 0


async def _export(args: argparse.Namespace) -> int:
    from talkex_widget.backends.history import HistoryError, from_url
    from talkex_widget.core.transcript import render

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
