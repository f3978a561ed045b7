"""Which Talkex server to talk to: URLs, and the runtime file kernels share.

A kernel that starts the embedded server writes ``talkex-server.json`` (url, token, pid, view
key, history store, and the pid of the server's own process when it runs in a child of the
kernel; mode 0600) in Jupyter's runtime directory, where Jupyter keeps its own
connection files. Other kernels of the same user read it and join that server instead of
starting their own. A file whose process is gone, or whose server does not answer ``/healthz``,
is stale: it is ignored and the next kernel that starts a server replaces it (or a kernel that
used it takes over, :mod:`.takeover`). Only the process named in the file removes it.

Tokens never appear in a :class:`ServerInfo`'s repr, so printing one in a notebook (whose
outputs are saved) does not leak it.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from jupyter_core.paths import jupyter_runtime_dir

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; two kernels may race to start a server
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "RUNTIME_FILE",
    "ServerInfo",
    "find_running",
    "forget",
    "health",
    "healthy",
    "parse_server_url",
    "process_alive",
    "publish",
    "read_runtime_file",
    "runtime_file",
    "runtime_lock",
    "server_from_env",
]

RUNTIME_FILE = "talkex-server.json"
HEALTH_TIMEOUT = 2.0
"""Seconds a live server has to answer ``/healthz``; a loopback server answers in milliseconds."""


@dataclass(frozen=True)
class ServerInfo:
    """A server to connect to: its http base URL (ending in ``/``, no token) and its token."""

    url: str
    token: str | None = field(default=None, repr=False)
    pid: int | None = None
    """The kernel hosting the server, when known (from the runtime file): whether the host is
    alive means whether this process is."""
    view_key: str | None = field(default=None, repr=False)
    """The embedded server's key for viewer tokens (runtime file only): the Jupyter server
    extension signs with it who is viewing a notebook."""
    store: str | None = field(default=None, repr=False)
    """The embedded server's history store URL (runtime file only): a kernel that takes over
    from a host kernel that died serves the same history (see :mod:`.takeover`)."""
    server_pid: int | None = None
    """The process serving, where it is not ``pid`` itself: the kernel's child process that
    runs the embedded server (:mod:`.child`). A server whose process died is gone even while
    its kernel lives (:mod:`.takeover`)."""
    hub: bool = False
    """The server is a JupyterHub service and ``token`` the kernel's own hub token: the kernel
    speaks as its owner, and views never get the token (each viewer signs in to the hub)."""

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def same_server(self, other: ServerInfo | None) -> bool:
        return other is not None and (self.url, self.token) == (other.url, other.token)


def parse_server_url(text: str, default_token: str | None = None) -> ServerInfo:
    """``http://host:port[/prefix][?token=T]`` -> :class:`ServerInfo` (token out of the URL).

    ``ws://`` and ``wss://`` are accepted and mean the same server over http(s). Without a
    ``token`` in the query, ``default_token`` is used.
    """
    parts = urlsplit(text.strip())
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a Talkex server URL: {text!r} (expected http://HOST:PORT/)")
    tokens = parse_qs(parts.query).get("token")
    path = parts.path.rstrip("/") + "/"
    return ServerInfo(
        urlunsplit((scheme, parts.netloc, path, "", "")), tokens[0] if tokens else default_token
    )


def server_from_env(environ: Mapping[str, str] = os.environ) -> ServerInfo | None:
    """The server ``TALKEX_URL`` names, or ``None`` without it.

    Its token is the URL's, else ``TALKEX_TOKEN``; on a JupyterHub (where the admin sets only
    ``TALKEX_URL``) it is the kernel's ``JUPYTERHUB_API_TOKEN``, and the server is the hub's
    Talkex service: that token goes to that URL only, which the admin chose.
    """
    url = environ.get("TALKEX_URL")
    if not url:
        return None
    info = parse_server_url(url, environ.get("TALKEX_TOKEN") or None)
    hub_token = environ.get("JUPYTERHUB_API_TOKEN")
    if info.token is None and hub_token:
        return ServerInfo(info.url, hub_token, hub=True)
    return info


def runtime_file() -> Path:
    return Path(jupyter_runtime_dir()) / RUNTIME_FILE


@contextlib.contextmanager
def runtime_lock() -> Iterator[None]:
    """Serialize "find a server or start one" between the kernels of this user."""
    path = runtime_file().with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_runtime_file() -> ServerInfo | None:
    """The server the runtime file names, or ``None`` if there is no readable file."""
    try:
        data = json.loads(runtime_file().read_text(encoding="utf-8"))
        return ServerInfo(
            str(data["url"]),
            data.get("token") or None,
            view_key=data.get("view_key") or None,
            pid=int(data["pid"]),
            store=data.get("db") or None,
            server_pid=int(data["server_pid"]) if data.get("server_pid") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def publish(info: ServerInfo) -> Path:
    """Write the runtime file for ``info`` atomically, readable by this user only."""
    path = runtime_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = {"url": info.url, "token": info.token, "pid": info.pid or os.getpid()}
    if info.view_key:
        payload["view_key"] = info.view_key
    if info.store:
        payload["db"] = info.store
    if info.server_pid:
        payload["server_pid"] = info.server_pid
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(payload).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def forget(pid: int | None = None) -> bool:
    """Remove the runtime file if process ``pid`` (default: this one) wrote it."""
    pid = pid or os.getpid()
    info = read_runtime_file()
    if info is None or info.pid != pid:
        return False
    with contextlib.suppress(FileNotFoundError):
        runtime_file().unlink()
    return True


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists and is no zombie (ended, not reaped yet: a
    kernel killed a moment ago, whose Jupyter server has not collected it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, though not ours
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Linux says so in ``/proc/PID/stat`` (state ``Z``); elsewhere we cannot tell: no."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (name)", which may hold spaces
    return bool(fields) and fields[0] == "Z"


def health(info: ServerInfo, timeout: float = HEALTH_TIMEOUT) -> dict[str, Any] | None:
    """What ``/healthz`` says, or ``None`` when no Talkex server answers at ``info.url``.

    Asked with ``info``'s token (its own server's, in a header: nothing logs it), so a server
    that knows it answers ``version``, ``rooms`` and ``connections`` besides ``status``; one
    that does not (another server now on that port) answers ``status`` only.
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    headers = {"Authorization": f"token {info.token}"} if info.token else {}
    request = urllib.request.Request(info.url + "healthz", headers=headers)
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return None
    if isinstance(body, dict) and "status" in body:
        return body
    return None


def healthy(info: ServerInfo, timeout: float = HEALTH_TIMEOUT) -> bool:
    return health(info, timeout) is not None


def find_running() -> ServerInfo | None:
    """The server named in the runtime file if its process lives and it answers."""
    info = read_runtime_file()
    if info is None or info.pid is None or not process_alive(info.pid):
        return None
    return info if healthy(info) else None
