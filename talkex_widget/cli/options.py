"""The ``talkex`` command line: every subcommand and option, with defaults and help.

Apart from :mod:`talkex_widget.cli` (which runs the commands) so that each stays small; the
defaults come from :class:`~talkex_widget.server.config.ServerConfig` and the classes it holds,
the one place each default lives, imported without the web stack so ``--help`` stays quick.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from talkex_widget.cli.secrets import add_secret_option
from talkex_widget.core.version import __version__

if TYPE_CHECKING:
    from talkex_widget.core.limits import Limits
    from talkex_widget.core.rooms import RoomRules
    from talkex_widget.server.config import ServerConfig

__all__ = ["build_parser", "limits_from", "rules_from"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand. Secrets are read afterwards, by
    :func:`~talkex_widget.cli.secrets.secret_value`: a file is read only when it is used."""
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
    d = _server_defaults()
    serve.add_argument(
        "--host",
        default=os.environ.get("TALKEX_HOST", d.host),
        help=f"interface to bind (default: {d.host}; env TALKEX_HOST)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("TALKEX_PORT", d.port),
        help=f"TCP port, 0 for any free port (default: {d.port}; env TALKEX_PORT)",
    )
    add_secret_option(
        serve,
        "token",
        "access token; default: random, printed in the start-up URL; "
        "'' turns auth off, loopback hosts only",
    )
    _add_db_option(serve)
    serve.add_argument(
        "--pubsub",
        default=os.environ.get("TALKEX_PUBSUB", d.pubsub),
        metavar="URL",
        help=f"pubsub shared by several server processes: memory:// (one process) "
        f"or redis://HOST:PORT/DB (default: {d.pubsub}; env TALKEX_PUBSUB)",
    )
    add_secret_option(
        serve,
        "cluster-secret",
        "sign what this server publishes on a redis:// pubsub and drop what is not signed "
        "with it: the same secret on every server, 32 bytes or more",
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
        default=d.node_timeout,
        metavar="SECONDS",
        help=f"a server silent this long is considered down and its users leave "
        f"(default: {d.node_timeout:g})",
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
        default=d.idle_timeout,
        metavar="SECONDS",
        help=f"close sockets silent for this long (default: {d.idle_timeout:g})",
    )
    add_secret_option(
        serve,
        "secret",
        "sign identity tokens with this secret (32 bytes or more): sockets then need a token "
        "from 'talkex token NICKNAME' and take the nickname from it",
    )
    serve.add_argument(
        "--jupyterhub",
        action="store_true",
        help="run as a JupyterHub service (in c.JupyterHub.services): the hub says who people "
        "are; address and prefix come from the variables the hub sets, so --host, --port, "
        "--token, --secret and --allow-origin do not apply",
    )
    _add_limit_options(serve, d)
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging verbosity (default: info)",
    )

    token = commands.add_parser(
        "token",
        help="issue a signed token that binds a nickname",
        description="Print a signed, expiring token for NICKNAME, for a server run with --secret.",
    )
    token.add_argument("nickname", metavar="NICKNAME")
    token.add_argument(
        "--ttl", type=_duration, default="1d", help="lifetime, e.g. 30m, 1h, 7d (default: 1d)"
    )
    add_secret_option(token, "secret", "the server's --secret")

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


def _server_defaults() -> ServerConfig:
    """The defaults of every ``serve`` option, from the one place that holds them."""
    from talkex_widget.server.config import ServerConfig

    return ServerConfig(token=None)


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    from talkex_widget.backends.history import store_url

    parser.add_argument(
        "--db",
        "--history",
        type=store_url,
        default=os.environ.get("TALKEX_DB"),
        metavar="URL|PATH",
        help="history store: a SQLite file path, sqlite:///PATH, 'memory', or "
        "redis://HOST:PORT/DB shared by several servers "
        "(default: talkex.db in the user data dir; env TALKEX_DB)",
    )


def _add_limit_options(parser: argparse.ArgumentParser, defaults: ServerConfig) -> None:
    group = parser.add_argument_group("limits (0 = unlimited where noted)")
    for option in _LIMIT_OPTIONS:
        source = defaults.rules if option.rule else defaults.limits
        values = tuple(getattr(source, name) for name in option.fields)
        shown = "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
        group.add_argument(
            option.flag,
            type=option.type,
            default=values if len(values) > 1 else values[0],
            metavar=option.metavar,
            help=f"{option.help} (default: {shown})",
        )


def limits_from(args: argparse.Namespace) -> Limits:
    """The connection limits ``serve`` was given."""
    from talkex_widget.core.limits import Limits

    return Limits(**_limit_fields(args, rule=False))


def rules_from(args: argparse.Namespace) -> RoomRules:
    """The room rules ``serve`` was given (the limits that clients are told when they join)."""
    from talkex_widget.core.rooms import RoomRules

    return RoomRules(**_limit_fields(args, rule=True))


def _limit_fields(args: argparse.Namespace, *, rule: bool) -> dict[str, Any]:
    """The fields of :class:`Limits` (or, with ``rule``, of :class:`RoomRules`) set by the
    limit options in ``args``."""
    fields: dict[str, Any] = {}
    for option in _LIMIT_OPTIONS:
        if option.rule == rule:
            value = getattr(args, option.flag.lstrip("-").replace("-", "_"))
            values = value if len(option.fields) > 1 else (value,)
            fields.update(zip(option.fields, values, strict=True))
    return fields


def _rate(text: str) -> tuple[int, float]:
    try:
        count, _, window = text.partition("/")
        parsed = int(count), float(window)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate must look like 20/10, got {text!r}") from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError(f"rate must be positive, got {text!r}")
    return parsed


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    unit = text[-1:] if text[-1:] in _UNITS else "s"
    number = text[:-1] if text[-1:] in _UNITS else text
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"duration must look like 90s, 30m, 1h or 7d, got {text!r}"
        ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, got {text!r}")
    return seconds


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


@dataclass(frozen=True)
class _LimitOption:
    """One limit of ``serve``: its flag, the config fields it sets, and what its help says."""

    flag: str
    fields: tuple[str, ...]
    """The :class:`Limits` fields it sets, or with ``rule`` the :class:`RoomRules` ones; their
    defaults are the option's. A rate sets two: the count, then the window."""
    help: str
    """The help text before ``(default: ...)``."""
    type: Callable[[str], Any] = int
    metavar: str | None = None
    rule: bool = False


_LIMIT_OPTIONS = (
    _LimitOption(
        "--max-frame-bytes",
        ("max_frame_bytes",),
        "largest frame accepted; larger ones close with 1009",
    ),
    _LimitOption(
        "--message-rate",
        ("messages_per_window", "message_window"),
        "messages per connection before 'you are sending too fast'",
        _rate,
        "N/SECONDS",
    ),
    _LimitOption(
        "--frame-rate",
        ("frames_per_window", "frame_window"),
        "frames per connection before it is closed as a flood with 1008",
        _rate,
        "N/SECONDS",
    ),
    _LimitOption(
        "--max-connections-per-nickname", ("max_connections_per_nickname",), "0 = unlimited"
    ),
    _LimitOption("--max-connections-per-ip", ("max_connections_per_ip",), "0 = unlimited"),
    _LimitOption(
        "--max-connections",
        ("max_connections",),
        "open sockets in all, then 503 'server is full'; 0 = unlimited",
    ),
    _LimitOption(
        "--max-send-buffer",
        ("max_send_buffer_bytes",),
        "unread bytes after which a slow client is dropped",
        metavar="BYTES",
    ),
    _LimitOption(
        "--handshake-timeout",
        ("handshake_timeout",),
        "close connections that send no request",
        float,
        "SECONDS",
    ),
    _LimitOption(
        "--max-body",
        ("max_body",),
        "longest message in characters, told to clients when they join",
        rule=True,
    ),
    _LimitOption(
        "--max-attachment",
        ("max_attachment",),
        "largest image a message may carry (a figure shared from a notebook), PNG or JPEG "
        "only; frames grow to carry it; 0 takes none",
        metavar="BYTES",
        rule=True,
    ),
)
"""The limit options of ``serve``, in the order ``--help`` lists them."""
