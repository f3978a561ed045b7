"""The embedded server in a child process of the kernel: the chat stays fast while a cell computes.

A server on a thread of the kernel shares the kernel's interpreter, and so its GIL, with the
analyst's cells: while a cell runs a pure-Python loop, every wake-up of the server waits for
the interpreter (``benchmarks/host_busy.py`` measured p50 22-30 ms instead of about 1 ms). In a
process of its own it never waits. So the kernel starts it as a child process
(:class:`EmbeddedProcess`) by default; ``TALKEX_EMBEDDED=thread`` keeps it on a thread
(:class:`~.threads.ServerThread`). :func:`start_embedded_server` is the one place that chooses.

The child lives and dies with its kernel, with no user step:

* its configuration (token, viewer key, history store) goes over its stdin as one JSON line,
  never on its command line, which every user of the machine can read in ``/proc``;
* it runs in a session of its own, so interrupting the kernel (SIGINT to its process group)
  does not reach it;
* it stops when its stdin ends, which happens however the kernel ends, SIGKILL included;
  on Linux the kernel's death also sends it SIGHUP (``PR_SET_PDEATHSIG``). Linux sends that
  signal when the *thread* that started the child ends, too, so the child stops on it only when
  its parent process is really gone (:func:`os.getppid` changed);
* it says on stdout, as one JSON line, the port it listens on or why it could not start, and
  the kernel raises that error (``OSError`` for a port in use, as the thread does).

The runtime file keeps naming the *kernel* as the server's owner (``pid``), so "the host is
alive" still means "the kernel is alive"; it also names the child (``server_pid``), so that a
child that died alone is noticed too (see :mod:`.takeover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import json
import logging
import os
import signal
import site
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

from talkex_widget.notebook.discovery import ServerInfo
from talkex_widget.notebook.threads import SWITCH_INTERVAL, ServerThread
from talkex_widget.server.config import ServerConfig

__all__ = [
    "EMBEDDED_ENV",
    "HOSTINGS",
    "EmbeddedProcess",
    "EmbeddedServer",
    "config_from_dict",
    "config_to_dict",
    "hosting",
    "main",
    "server_info",
    "start_embedded_server",
]

log = logging.getLogger("talkex.embedded")

EMBEDDED_ENV = "TALKEX_EMBEDDED"
"""Where the kernel hosts its embedded server: ``process`` (the default) or ``thread``."""
HOSTINGS = ("process", "thread")
"""The values of :data:`EMBEDDED_ENV`, the default first."""
START_TIMEOUT = 30.0
"""Seconds for the embedded server to listen (a child process is ready in about 0.75 s)."""
STOP_TIMEOUT = 30.0
"""Seconds for the child to close its sockets and flush its history before it is killed."""
CHILD_MODULE = "talkex_widget.notebook.child"

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
_SIGHUP: int | None = getattr(signal, "SIGHUP", None)  # POSIX only


class EmbeddedServer(Protocol):
    """What the kernel holds of the server it hosts, on a thread or in a child process."""

    config: ServerConfig

    @property
    def port(self) -> int: ...

    @property
    def url(self) -> str: ...

    @property
    def pid(self) -> int:
        """The process serving: the kernel's for a thread, the child's for a process."""

    @property
    def running(self) -> bool: ...

    def stop(self, timeout: float = ...) -> None: ...


def hosting(environ: Mapping[str, str] = os.environ) -> str:
    """How this kernel hosts its server, from :data:`EMBEDDED_ENV` (a bad value is refused)."""
    value = environ.get(EMBEDDED_ENV, "").strip().lower() or HOSTINGS[0]
    if value not in HOSTINGS:
        raise ValueError(f"{EMBEDDED_ENV}={value!r}: expected one of {', '.join(HOSTINGS)}")
    return value


def start_embedded_server(config: ServerConfig, timeout: float = START_TIMEOUT) -> EmbeddedServer:
    """Start the kernel's embedded server the way :func:`hosting` says; errors reach the caller.

    On a thread, the interpreter's switch interval is shortened while it runs, so the server
    waits less for the GIL behind a busy cell (:data:`~.threads.SWITCH_INTERVAL`)."""
    if hosting() == "thread":
        return ServerThread(config, switch_interval=SWITCH_INTERVAL).start(timeout)
    return EmbeddedProcess(config).start(timeout)


def server_info(server: EmbeddedServer) -> ServerInfo:
    """What the runtime file says of a server this kernel hosts: the kernel as its owner."""
    config = server.config
    return ServerInfo(
        f"http://127.0.0.1:{server.port}/",
        config.token,
        pid=os.getpid(),
        view_key=config.view_key,
        store=config.db,
        server_pid=server.pid if server.pid != os.getpid() else None,
    )


def config_to_dict(config: ServerConfig) -> dict[str, Any]:
    """``config`` as plain JSON data (secrets included: it goes over a pipe only)."""
    return dataclasses.asdict(config)


def config_from_dict(data: Mapping[str, Any]) -> ServerConfig:
    """The :class:`ServerConfig` :func:`config_to_dict` made; unknown fields are refused."""
    from talkex_widget.core.limits import Limits
    from talkex_widget.core.rooms import RoomRules

    known = {f.name for f in dataclasses.fields(ServerConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown server settings: {', '.join(unknown)}")
    values = dict(data)
    values["rules"] = RoomRules(**values.get("rules", {}))
    values["limits"] = Limits(**values.get("limits", {}))
    values["allow_origins"] = tuple(values.get("allow_origins", ()))
    if values.get("hub") is not None:
        from talkex_widget.server.hub import HubSettings

        values["hub"] = HubSettings(**values["hub"])
    return ServerConfig(**values)


class EmbeddedProcess:
    """A :class:`~talkex_widget.server.app.TalkexServer` in a child process of this one.

    The same surface as :class:`~.threads.ServerThread`: :meth:`start`, ``port``/``url`` once
    started, :attr:`running`, :meth:`stop`; and :attr:`pid`, the child's.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "server not started"
        return self._port

    @property
    def url(self) -> str:
        return self.config.url(self.port)

    @property
    def pid(self) -> int:
        assert self._proc is not None, "server not started"
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> EmbeddedProcess:
        """Start the child and wait until it listens; its error is raised here, in the caller:
        ``OSError`` when it cannot bind, ``ValueError`` for a bad configuration, else
        ``RuntimeError``, with what the child said."""
        self.config.check()  # a bad configuration is the caller's error, without a child
        proc = subprocess.Popen(
            [sys.executable, "-m", CHILD_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_child_env(),
            start_new_session=True,
        )
        self._proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        request = {"parent": os.getpid(), "config": config_to_dict(self.config)}
        with contextlib.suppress(BrokenPipeError):  # it died at once: its answer says why
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
        answer = _read_answer(proc.stdout, timeout)
        if "port" in answer:
            proc.stdout.close()
            self._port = int(answer["port"])
            return self
        self.stop(timeout=5.0)  # first: a reader still waiting for a line gets its end
        proc.stdout.close()
        raise _start_error(answer, proc.returncode)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End of stdin: the child closes its sockets (1001), flushes its history and exits;
        it is killed if it has not within ``timeout`` seconds."""
        proc = self._proc
        if proc is None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the Talkex server process %s did not stop: killing it", proc.pid)
            proc.kill()
            proc.wait()


def _child_env() -> dict[str, str]:
    """The kernel's environment, with this ``talkex_widget`` first on the path when it does not
    come from site-packages (a checkout the kernel put on ``sys.path``): the child then runs
    the same code. ``PYTHONSAFEPATH``: the kernel's working directory (a notebook folder)
    does not shadow modules."""
    env = dict(os.environ, PYTHONSAFEPATH="1")
    root = str(Path(__file__).resolve().parents[2])
    paths = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
    sites = {str(Path(p).resolve()) for p in paths}
    if root not in sites:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _read_answer(stdout: IO[bytes], timeout: float) -> dict[str, Any]:
    """The child's one JSON line, read on a helper thread so that a child that never answers
    cannot hold the kernel past ``timeout``."""
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        return {"error": f"the Talkex server process did not start within {timeout:g} s"}
    try:
        answer = json.loads(lines[0])
    except ValueError:
        return {"error": "the Talkex server process exited before it was ready"}
    return answer if isinstance(answer, dict) else {"error": f"unexpected answer {answer!r}"}


def _start_error(answer: Mapping[str, Any], code: int | None) -> Exception:
    message = str(answer.get("error", "unknown error"))
    if "type" not in answer:  # it could not say why: its traceback went to the kernel's stderr
        message += f" (exit status {code}; see the kernel's log)"
    if answer.get("type") == "OSError":
        return OSError(answer.get("errno") or 0, message)
    if answer.get("type") == "ValueError":
        return ValueError(message)
    kind = f"{answer['type']}: " if "type" in answer else ""
    return RuntimeError(f"the Talkex server process could not start: {kind}{message}")


# -- the child's side -------------------------------------------------------------------------


def main() -> int:
    """``python -m talkex_widget.notebook.child``: read the config, serve until the kernel goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's interrupts are not for us
    if _SIGHUP is not None:  # until the loop can tell a thread's end from the kernel's
        signal.signal(_SIGHUP, signal.SIG_IGN)
    line = sys.stdin.buffer.readline()
    if not line:  # the kernel went before it said anything
        return 0
    logging.basicConfig(level=logging.WARNING, format=f"talkex-server[{os.getpid()}] %(message)s")
    try:
        request = json.loads(line)
        parent = int(request["parent"])
        config = config_from_dict(request["config"])
    except (ValueError, KeyError, TypeError) as exc:
        _answer({"error": f"bad request from the kernel: {exc}", "type": "ValueError"})
        return 2
    _die_with(parent)
    return asyncio.run(_serve(config, parent))


def _die_with(parent: int) -> None:
    """Ask Linux for SIGHUP when the parent dies; exit now if it already has."""
    if sys.platform.startswith("linux") and _SIGHUP is not None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGHUP, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(0)


async def _serve(config: ServerConfig, parent: int) -> int:
    from talkex_widget.server.app import TalkexServer

    try:
        server = TalkexServer(config)  # checks the config, opens the history store
        try:
            await server.start()
        except OSError as exc:
            reason = f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            _answer({"error": reason, "type": "OSError", "errno": exc.errno})
            return 1
    except Exception as exc:
        _answer({"error": str(exc), "type": type(exc).__name__})
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def hung_up() -> None:  # the kernel died, or only the thread that started us ended
        if os.getppid() != parent:
            stop.set()

    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' loop
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        if _SIGHUP is not None:
            loop.add_signal_handler(_SIGHUP, hung_up)
    threading.Thread(target=_until_eof, args=(loop, stop), name="stdin", daemon=True).start()
    if os.getppid() != parent:  # it went while we started
        stop.set()
    _answer({"port": server.port})
    await stop.wait()
    await server.stop()
    return 0


def _answer(answer: dict[str, Any]) -> None:
    """The one line the kernel waits for; stdout then goes nowhere (nobody reads it)."""
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _until_eof(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin ends: the kernel stopped us, or died (however it died)."""
    with contextlib.suppress(OSError):
        sys.stdin.buffer.read()
    with contextlib.suppress(RuntimeError):  # the loop has closed already
        loop.call_soon_threadsafe(stop.set)


if __name__ == "__main__":
    code = main()
    # Sockets are closed and the history flushed: skip the interpreter's teardown (0.2-0.4 s of
    # module cleanup), so a kernel that stops us, or takes over from us, waits for nothing.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)
