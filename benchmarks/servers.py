"""Server processes under test: ``talkex serve`` and the plain Tornado baseline, on loopback.

Each runs as its own process (the load generator must not share its core), started by the
tests' own :mod:`tests.processes` with the limits raised so the benchmark measures throughput
rather than the flood protection, and observed through ``/proc`` (RSS, CPU time).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.processes import ROOT, ServerProcess, TalkexServe

__all__ = ["BenchServer", "MachineCpu", "own_cpu_seconds", "raise_fd_limit"]

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> int:
    """Lift the soft open-file limit to the hard one (children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class BenchServer:
    """A server process under load (``talkex serve`` or the plain baseline), with its costs.

    Started by :mod:`tests.processes`, the same helper the tests use, in a temporary folder
    that holds its log and history; :meth:`cpu_seconds` and :meth:`rss_bytes` read ``/proc``.
    """

    source: Path = ROOT
    """The checkout whose ``talkex_widget`` runs (``--talkex-source``: compare two versions)."""

    TALKEX_OPTIONS = (
        "--log-level=warning",
        # Limits that would throttle a benchmark (a real deployment keeps the defaults):
        "--message-rate=1000000/1",
        "--frame-rate=1000000/1",
        "--max-connections-per-ip=0",
        "--max-connections-per-nickname=0",
        "--idle-timeout=300",
    )
    """``talkex serve`` options of every benchmarked server."""

    def __init__(self, name: str, make: Callable[[Path], ServerProcess]) -> None:
        self.name = name
        self._tmp = tempfile.TemporaryDirectory(prefix="talkex-bench-")
        self.process = make(Path(self._tmp.name))

    @classmethod
    def talkex(cls, *, history: bool = True, extra: list[str] | None = None) -> BenchServer:
        def make(directory: Path) -> ServerProcess:
            return TalkexServe(
                *cls.TALKEX_OPTIONS,
                *(extra or []),
                token="",
                db=f"sqlite:///{directory}/history.db" if history else "memory://",
                log=directory / "server.log",
                source=cls.source,
            )

        return cls("talkex", make)

    @classmethod
    def plain(cls) -> BenchServer:
        def make(directory: Path) -> ServerProcess:
            argv = [sys.executable, "-m", "benchmarks.plain_server"]
            return ServerProcess(argv, log=directory / "server.log")

        return cls("plain", make)

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def directory(self) -> Path:
        """The server's own temporary folder (its log, its history, whatever else it needs)."""
        return Path(self._tmp.name)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1]) * _PAGE

    def __enter__(self) -> BenchServer:
        try:
            self.process.start()
        except BaseException:
            self._tmp.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop(timeout=20)
        self._tmp.cleanup()


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
