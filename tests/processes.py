"""Servers as child processes: ``talkex serve`` as a user runs it, for tests and benchmarks.

One way to start, wait for and stop a server process, so a test that kills the server, a
cluster of nodes on Redis and the benchmarks' load runs all agree on what "started" means: the
process answers ``GET /healthz`` on its port, not merely printed a line. It lives with the tests
and ``python -m benchmarks`` (run from the checkout) imports it as ``tests.processes``: the
benchmarks are a development tool of this checkout, while the package must not ship test code.

Everything here blocks; async tests run it off their loop with ``asyncio.to_thread`` so the
clients in that loop keep reconnecting while a server starts or stops.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .helpers import free_port

__all__ = ["ServerProcess", "TalkexServe", "talkex"]

ROOT = Path(__file__).resolve().parent.parent
"""This checkout: its ``talkex_widget`` and ``benchmarks`` are what the children import."""


class ServerProcess:
    """A server program run as a child process on ``127.0.0.1:port``, output to ``log``.

    ``argv`` is the command without ``--port``: :meth:`start` adds the port, free when first
    started and the same on every restart, so clients reconnect to where the server was.
    The program must serve ``GET /healthz``.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        log: Path,
        port: int | None = None,
        cwd: Path = ROOT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.argv = list(argv)
        self.log = log
        self.port = port or free_port()
        self.cwd = cwd
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``: the base URL for :class:`~talkex_widget.client.Socket`."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start (or restart) the process and wait until ``/healthz`` answers.

        The log is appended to, so a restarted server's log tells its whole story. Raises
        :class:`RuntimeError` with the end of the log when the process exits or never answers.
        """
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.argv, "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while self.health() is None:
            if not self.running or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.argv} did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def health(self) -> dict[str, Any] | None:
        """What ``/healthz`` answers (``status``: ``ok`` or ``degraded``), or ``None``."""
        try:
            with urllib.request.urlopen(self.url + "healthz", timeout=2) as response:
                return dict(json.load(response))
        except (OSError, ValueError):  # refused, reset, timed out, an HTTP error, not JSON
            return None

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to close sockets or flush anything."""
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Ask the process to exit with ``sig``; kill it after ``timeout`` s. Its exit code."""
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.proc is None else self.proc.returncode

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the log, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TalkexServe(ServerProcess):
    """``python -m talkex_widget serve`` on loopback with ``options`` (``--pubsub`` ...).

    ``token=None`` lets serve make one up, read back from the URL it prints; ``""`` runs it
    without a token. The history defaults to memory, never the user's real one. ``source`` runs
    another checkout's ``talkex_widget`` (the benchmarks compare two versions that way).
    """

    def __init__(
        self,
        *options: str,
        log: Path,
        token: str | None = None,
        db: str = "memory://",
        port: int | None = None,
        source: Path = ROOT,
    ) -> None:
        argv = [sys.executable, "-m", "talkex_widget", "serve", "--host", "127.0.0.1"]
        argv += ["--db", db, *options]
        if token is not None:
            argv.append(f"--token={token}")
        # ``python -m`` imports from the working directory first: that picks the checkout.
        super().__init__(argv, log=log, port=port, cwd=source)
        self.token = token
        self._made_up = token is None

    def start(self, timeout: float = 30.0) -> TalkexServe:
        super().start(timeout)
        if self._made_up:  # a new one at every start; the log's last URL has the current one
            printed = re.findall(r"\?token=(\S+)", self.log.read_text(errors="replace"))
            self.token = printed[-1] if printed else None
        return self


def talkex(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the ``talkex`` command once (``export``, ``token``, a ``serve`` that must fail) as a
    user would, from this checkout; its exit code and output, as text."""
    return subprocess.run(
        [sys.executable, "-m", "talkex_widget", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
