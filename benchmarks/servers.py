"""Server processes under test: ``talkex serve`` and the plain Tornado baseline, on loopback.

Each runs as its own process (the load generator must not share its core), started with the
limits raised so the benchmark measures throughput rather than the flood protection, and
observed through ``/proc`` (RSS, CPU time).
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["MachineCpu", "ServerProcess", "own_cpu_seconds", "raise_fd_limit"]

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> int:
    """Lift the soft open-file limit to the hard one (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class ServerProcess:
    """A server started from a command line that prints its port; stopped with SIGTERM."""

    source: Path = Path(__file__).resolve().parent.parent
    """The checkout whose ``talkex_widget`` runs (``--talkex-source``: compare two versions)."""

    def __init__(self, name: str, argv: list[str], source: Path | None = None) -> None:
        self.name = name
        self.argv = argv
        self.root = source or Path(__file__).resolve().parent.parent
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="talkex-bench-")
        self.log = Path(self._tmp.name) / "server.log"

    @classmethod
    def talkex(cls, *, history: bool = True, extra: list[str] | None = None) -> ServerProcess:
        server = cls("talkex", [], cls.source)
        db = f"sqlite:///{server._tmp.name}/history.db" if history else "memory://"
        server.argv = [
            sys.executable,
            "-m",
            "talkex_widget",
            "serve",
            "--host=127.0.0.1",
            "--port=0",
            "--token=",
            f"--db={db}",
            "--log-level=warning",
            # Limits that would throttle a benchmark (a real deployment keeps the defaults):
            "--message-rate=1000000/1",
            "--frame-rate=1000000/1",
            "--max-connections-per-ip=0",
            "--max-connections-per-nickname=0",
            "--idle-timeout=300",
            *(extra or []),
        ]
        return server

    @classmethod
    def plain(cls) -> ServerProcess:
        return cls("plain", [sys.executable, "-m", "benchmarks.plain_server", "--port=0"])

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        out = self.log.open("w")
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=out, text=True, env=env, cwd=self.root
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            found = re.search(r"127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                return self
        self.stop()
        raise RuntimeError(f"{self.name} server did not start: {self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def rss_bytes(self) -> int:
        assert self.proc is not None
        return int(Path(f"/proc/{self.proc.pid}/statm").read_text().split()[1]) * _PAGE

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MachineCpu:
    """Whole-machine CPU over an interval, to tell a slow figure from a busy neighbour: CPU
    used by processes other than ours, and time the hypervisor gave to other machines."""

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(fields[:3]) + sum(fields[5:7])  # user nice system irq softirq
        return busy / _CLK_TCK, (fields[7] if len(fields) > 7 else 0) / _CLK_TCK

    def since(self, seconds: float, ours: float) -> dict[str, float]:
        """Cores' worth used by others, and stolen, given the CPU seconds ``ours`` used."""
        busy, steal = self._read()
        return {
            "other_cpu": round(max(0.0, busy - self.start[0] - ours) / seconds, 2),
            "steal_cpu": round((steal - self.start[1]) / seconds, 2),
        }


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
