"""Secrets on the command line, from a file or from the environment, never in ``ps``.

An argument is in every process listing on the machine (``ps``, ``/proc/PID/cmdline``), for
every local user to read; the environment of a process only its owner (and root) can read, and
a file only whom its mode allows. So each secret option comes in two forms, ``--NAME VALUE``
and ``--NAME-file PATH``, each also read from the environment (``TALKEX_NAME`` and
``TALKEX_NAME_FILE``): the command line wins over the environment, and giving both forms at the
same level is an error rather than a guess. A value on the command line works, with a warning.

A file holds the secret as written by ``echo``, ``openssl rand -hex 32 > FILE`` or a secret
mount: one trailing newline is dropped, nothing else. A file that is missing, unreadable, not
UTF-8 or empty is an error: starting with no secret, or with a wrong one, would fail later and
less clearly (or, for the token, turn authentication off).
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "SecretFileError",
    "add_secret_option",
    "read_secret_file",
    "secret_value",
    "warn_if_password_argument",
]

log = logging.getLogger("talkex.cli")


class SecretFileError(ValueError):
    """A secret file that cannot be used; the message names the option and the path."""


def add_secret_option(parser: argparse._ActionsContainer, name: str, what: str) -> None:
    """``--NAME`` and ``--NAME-file``, exclusive on the command line, read back by
    :func:`secret_value`. ``what`` completes the help: what the secret is for."""
    env = _env(name)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        f"--{name}",
        metavar="VALUE",
        help=f"{what} (env {env}). As an argument it shows in ps to every local user: "
        f"prefer --{name}-file or the environment",
    )
    group.add_argument(
        f"--{name}-file",
        metavar="PATH",
        help=f"read the {name.replace('-', ' ')} from the file PATH, one trailing newline "
        f"dropped (env {env}_FILE)",
    )


def secret_value(
    parser: argparse.ArgumentParser, args: argparse.Namespace, name: str
) -> str | None:
    """The secret ``NAME`` as given (``None`` if not at all); exits 2 with a clear message
    when it cannot be had (see the module's docstring)."""
    dest = name.replace("-", "_")
    value, path = getattr(args, dest), getattr(args, f"{dest}_file")
    if value is not None:
        if value:
            log.warning(
                "--%s on the command line is visible to every local user (ps): "
                "prefer --%s-file or %s",
                name,
                name,
                _env(name),
            )
        return str(value)
    if path is None:
        env = _env(name)
        value, path = os.environ.get(env), os.environ.get(f"{env}_FILE")
        if value is not None and path is not None:
            parser.error(f"both {env} and {env}_FILE are set: keep one")
        if value is not None:
            return value
        if path is None:
            return None
    try:
        return read_secret_file(Path(path), f"--{name}-file")
    except SecretFileError as exc:
        parser.error(str(exc))


def read_secret_file(path: Path, option: str) -> str:
    """The secret in ``path`` without its one trailing newline; :class:`SecretFileError` if
    the file is missing, unreadable, not UTF-8 text or empty. Warns when others may read it."""
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretFileError(f"{option} {path}: no such file") from None
    except OSError as exc:
        raise SecretFileError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{option} {path}: not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text
    if not text:
        raise SecretFileError(f"{option} {path}: the file is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s %s can be read by other users (mode %s): chmod 600 it",
            option,
            path,
            oct(stat.S_IMODE(mode)),
        )
    return text


def warn_if_password_argument(option: str, env: str, url: str | None) -> None:
    """Warn when a URL given as an argument holds a password (``redis://:PASSWORD@HOST``):
    it is in ``ps`` like any other argument, while ``env`` would keep it out."""
    if url and url != os.environ.get(env) and urlsplit(url).password:
        log.warning(
            "%s holds a password, visible to every local user (ps): give the URL in %s instead",
            option,
            env,
        )


def _env(name: str) -> str:
    return "TALKEX_" + name.upper().replace("-", "_")
