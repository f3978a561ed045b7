"""Chat latency while the host kernel computes (issue 16), and what the chat costs the cell.

A kernel that hosts the embedded server shares its interpreter, and so its GIL, with the
analyst's cells. Each host here is :mod:`benchmarks.host`, a process serving Talkex (SQLite
history) while its main thread sleeps (``idle``) or runs a pure-Python loop (``busy``). A room of
:data:`MEMBERS` members joins from this process; one of them posts at each of :data:`RATES` and
times the round trip from its push to its own broadcast.

With the host busy, the loop's speed is read (iterations per second, see
:class:`~benchmarks.host.LoopCounter`) in quiet windows with no traffic before and after each
traffic window, so its slowdown is a ratio measured in the same minute. On a shared machine
that ratio is mostly the neighbours' doing, so the loop's thread is also read from the
kernel's scheduler statistics (``/proc/PID/task/PID/schedstat``): its CPU time and its time
runnable but preempted. The loop never sleeps by itself, so the rest of the time it waited for
the GIL, which is what the chat takes from it (:func:`_gil_lost`). The host's other threads'
CPU time is the server's own work.

Rounds (``rounds=N``) go through the variants in turn and pool their round trips.

Variants are ``HOSTING[:SWITCH_INTERVAL][@CHECKOUT]``: ``thread`` (the embedded
``ServerThread``, ``TALKEX_EMBEDDED=thread``: "before"), ``process`` (the embedded server in a
child process of the host, ``EmbeddedProcess``, the default: "after"), a
``sys.setswitchinterval`` for the host (``thread:0.001`` is what ``TALKEX_EMBEDDED=thread``
sets), and another checkout's ``talkex_widget`` to compare before and after a change in one
run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.processes import ServerProcess

from . import suite
from .host import LoopCounter
from .servers import BenchServer

__all__ = [
    "HEAD",
    "MEMBERS",
    "RATES",
    "Durations",
    "LoopProbe",
    "Variant",
    "measure_host",
    "pool",
    "rows",
    "run",
]

MEMBERS = 20
RATES = (2.0, 10.0)
P99_TARGET_MS = {2.0: 20.0, 10.0: 50.0}
"""Round-trip p99 with the host busy, per rate (issue 16)."""
SLOWDOWN_TARGET = {2.0: 0.03}
"""The busy loop's slowdown from chat traffic, per rate (issue 16)."""


@dataclasses.dataclass(frozen=True)
class Durations:
    """Seconds of traffic per rate, and of each quiet window of the busy loop."""

    traffic: float
    quiet: float
    join_timeout: float = 30.0

    @classmethod
    def of(cls, quick: bool) -> Durations:
        return cls(traffic=8.0, quiet=3.0) if quick else cls(traffic=30.0, quiet=6.0)


@dataclasses.dataclass(frozen=True)
class Variant:
    """How the host serves: ``HOSTING[:SWITCH_INTERVAL][@CHECKOUT]``."""

    spec: str
    hosting: str = "thread"
    switch_interval: float | None = None
    source: Path | None = None

    @classmethod
    def parse(cls, spec: str) -> Variant:
        how, _, source = spec.partition("@")
        hosting, _, interval = how.partition(":")
        if hosting not in ("thread", "process"):
            raise ValueError(f"hosting must be thread or process, got {hosting!r} in {spec!r}")
        return cls(
            spec,
            hosting,
            float(interval) if interval else None,
            Path(source).resolve() if source else None,
        )

    def from_source(self, source: Path) -> Variant:
        """This variant run from ``source`` unless it names a checkout of its own."""
        return self if self.source is not None else dataclasses.replace(self, source=source)

    def argv(self) -> list[str]:
        argv = ["--hosting", self.hosting]
        if self.switch_interval is not None:
            argv += ["--switch-interval", str(self.switch_interval)]
        if self.source is not None:
            argv += ["--source", str(self.source)]
        return argv


@contextmanager
def host_server(variant: Variant, *, busy: bool) -> Iterator[BenchServer]:
    """A started :mod:`benchmarks.host` whose folder holds its history, log and loop count."""

    def make(directory: Path) -> ServerProcess:
        LoopCounter.create(directory / "loop.count")
        argv = [sys.executable, "-m", "benchmarks.host", *variant.argv()]
        argv += [
            "--db",
            f"sqlite:///{directory}/history.db",
            "--counter",
            str(directory / "loop.count"),
        ]
        argv += ["--busy"] if busy else []
        return ServerProcess(argv, log=directory / "host.log")

    with BenchServer("host", make) as server:
        yield server


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The busy loop's progress and its host's scheduling at one moment."""

    at: float
    iterations: int
    loop_run_ns: int
    """CPU time of the loop's thread."""
    loop_wait_ns: int
    """Time the loop's thread sat runnable without a CPU (preempted by other processes)."""
    others_run_ns: int
    """CPU time of the host's other threads: the server's work, done holding the GIL."""

    def since(self, start: Snapshot) -> dict[str, float]:
        wall = self.at - start.at
        ran = (self.loop_run_ns - start.loop_run_ns) / 1e9
        waited = (self.loop_wait_ns - start.loop_wait_ns) / 1e9
        done = self.iterations - start.iterations
        return {
            "seconds": round(wall, 2),
            "iterations_per_s": round(done / wall),
            "preempted_share": round(waited / wall, 4),
            "gil_wait_share": round(max(0.0, wall - ran - waited) / wall, 4),
            "server_cpu_share": round((self.others_run_ns - start.others_run_ns) / 1e9 / wall, 4),
        }


class LoopProbe:
    """Reads the host's busy loop from outside: its count, and ``/proc`` schedstat figures."""

    def __init__(self, server: BenchServer) -> None:
        self.counter = LoopCounter(server.directory / "loop.count")
        self.tasks = Path(f"/proc/{server.process.pid}/task")
        self.main = str(server.process.pid)  # the main thread's id is the process id

    def snapshot(self) -> Snapshot:
        at = time.perf_counter()
        iterations = self.counter.read()
        loop_run = loop_wait = others = 0
        for task in self.tasks.iterdir():
            try:
                run_ns, wait_ns, _ = (int(x) for x in (task / "schedstat").read_text().split())
            except (OSError, ValueError):  # a thread that ended meanwhile
                continue
            if task.name == self.main:
                loop_run, loop_wait = run_ns, wait_ns
            else:
                others += run_ns
        return Snapshot(at, iterations, loop_run, loop_wait, others)

    async def quiet(self, seconds: float) -> dict[str, float]:
        """The loop's speed over ``seconds`` with no chat traffic."""
        start = self.snapshot()
        await asyncio.sleep(seconds)
        return self.snapshot().since(start)


def _slowdown(traffic: dict[str, float], quiet: list[dict[str, float]]) -> float:
    """1 - iterations/s with traffic over iterations/s without, on each side of it."""
    baseline = statistics.fmean(q["iterations_per_s"] for q in quiet)
    return round(1 - traffic["iterations_per_s"] / baseline, 4)


def _gil_lost(traffic: dict[str, float], quiet: list[dict[str, float]]) -> float:
    """The share of time the loop lost waiting for the GIL because of the traffic.

    The loop never sleeps by itself: time it neither ran nor waited for a CPU, it waited for
    the GIL. Unlike the iteration rate this does not move when a neighbour shares the loop's
    core (hyper-threads) or preempts it, so it is the figure that survives a busy machine.
    """
    baseline = statistics.fmean(q["gil_wait_share"] for q in quiet)
    return round(traffic["gil_wait_share"] - baseline, 4)


async def measure_host(variant: Variant, *, busy: bool, d: Durations) -> dict[str, Any]:
    """Round trips at each rate on one host; with ``busy``, the loop's speed around them.

    ``{rate: figures}``; each rate's figures keep their raw ``samples`` (seconds) for
    :func:`pool`."""
    out: dict[str, Any] = {}
    with host_server(variant, busy=busy) as server:
        room = await suite.open_room(server.port, MEMBERS, join_timeout=d.join_timeout, prefix="k")
        try:
            probe = LoopProbe(server) if busy else None
            quiet = [await probe.quiet(d.quiet)] if probe else []
            for rate in RATES:
                load = round(os.getloadavg()[0], 2)
                start = probe.snapshot() if probe else None
                latency = await suite.timed(
                    suite.latency(room, server, rate=rate, seconds=d.traffic, own_only=True),
                    d.traffic + 60,
                )
                figures: dict[str, Any] = {"load_average": load, **latency}
                figures["samples"] = list(room.counters.latencies)
                if probe and start:
                    loop = probe.snapshot().since(start)
                    quiet.append(await probe.quiet(d.quiet))
                    figures["loop"] = loop
                    figures["quiet"] = quiet[-2:]
                    figures["slowdown"] = _slowdown(loop, quiet[-2:])
                    figures["gil_lost"] = _gil_lost(loop, quiet[-2:])
                out[f"{rate:g}"] = figures
        finally:
            room.close()
    return out


def pool(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One rate's figures over several rounds: percentiles of all round trips together, the
    median of the rounds' slowdowns, and each round's own figures under ``rounds``."""
    samples = sorted(x for r in rounds for x in r.pop("samples", []))
    out: dict[str, Any] = {
        "rounds": rounds,
        "load_averages": [r["load_average"] for r in rounds],
        "received": len(samples),
        # A round that timed out has no count: it shows as at least one round trip missing.
        "expected": sum(r.get("expected", 1) for r in rounds),
    }
    if samples:
        out["p50_ms"] = round(suite.quantile(samples, 0.50) * 1000, 1)
        out["p99_ms"] = round(suite.quantile(samples, 0.99) * 1000, 1)
        out["max_ms"] = round(samples[-1] * 1000, 1)
    for key in ("slowdown", "gil_lost"):
        values = [r[key] for r in rounds if key in r]
        if values:
            out[key] = round(statistics.median(values), 4)
    return out


async def run(variants: list[Variant], d: Durations, *, rounds: int = 1) -> dict[str, Any]:
    """``{spec: {"idle" | "busy": {rate: pooled figures}}}``.

    Rounds go through every variant in turn (A B C A B C ...), so that a neighbour's burst of
    load on a shared machine falls on all variants alike rather than on one of them."""
    raw: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    failed: dict[tuple[str, str], str] = {}
    for _ in range(rounds):
        for variant in variants:
            for mode in ("idle", "busy"):
                try:
                    figures = await measure_host(variant, busy=mode == "busy", d=d)
                except (OSError, RuntimeError, asyncio.TimeoutError) as exc:
                    failed[variant.spec, mode] = repr(exc)
                    continue
                for rate, f in figures.items():
                    raw.setdefault((variant.spec, mode, rate), []).append(f)
                    brief = {k: f.get(k) for k in ("load_average", "p50_ms", "p99_ms", "gil_lost")}
                    print(f"  host {variant.spec} {mode} {rate}/s: {brief}", flush=True)
                await asyncio.sleep(0.5)
    results: dict[str, Any] = {v.spec: {"idle": {}, "busy": {}} for v in variants}
    for (spec, mode), reason in failed.items():
        results[spec][mode]["setup_failed"] = reason
    for (spec, mode, rate), measured in raw.items():
        results[spec][mode][rate] = pool(measured)
    return results


HEAD = [
    "Host",
    "msg/s",
    "p50 ms",
    "p99 ms (vs idle)",
    "loop slower / GIL lost",
    "load avg",
    "target",
]


def _verdict(lat: dict[str, Any], rate: float) -> str:
    """The busy host's targets at ``rate``, and whether they were met."""
    targets = [f"p99<={P99_TARGET_MS[rate]:g}"]
    ok = lat["p99_ms"] <= P99_TARGET_MS[rate] and lat["received"] == lat["expected"]
    if rate in SLOWDOWN_TARGET and "gil_lost" in lat:
        targets.append(f"GIL lost<={100 * SLOWDOWN_TARGET[rate]:g}%")
        ok = ok and lat["gil_lost"] <= SLOWDOWN_TARGET[rate]
    return " ".join([*targets, "ok" if ok else "MISSED"])


def _span(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def _row(label: str, rate: float, lat: dict[str, Any], idle_p99: float | None) -> list[str]:
    p99 = f"{lat['p99_ms']}"
    if idle_p99:
        p99 += f" ({lat['p99_ms'] / idle_p99:.0f}x)"
    if lat["received"] < lat["expected"]:
        p99 += f" [{lat['received']}/{lat['expected']}]"
    loop = ""
    if "slowdown" in lat:
        loop = f"{100 * lat['slowdown']:.1f}% / {100 * lat['gil_lost']:.1f}%"
    return [
        label,
        f"{rate:g}",
        f"{lat['p50_ms']}",
        p99,
        loop,
        _span(lat["load_averages"]),
        _verdict(lat, rate) if idle_p99 is not None else "",
    ]


def rows(results: dict[str, Any]) -> list[list[str]]:
    """One row per variant, host state and rate. The loop's slowdown twice: from its iteration
    rate (what the analyst sees, and what neighbours blur), then the share of time it lost
    waiting for the GIL (what the chat took from it; the target applies to this one)."""
    table: list[list[str]] = []
    for spec, modes in results.items():
        idle = modes.get("idle", {})
        for mode in ("idle", "busy"):
            figures = modes.get(mode, {})
            if "setup_failed" in figures:
                failed = [f"{spec}, {mode}", "", "", f"failed: {figures['setup_failed']}"]
                table.append(failed + [""] * (len(HEAD) - len(failed)))
                continue
            for rate in RATES:
                lat = figures.get(f"{rate:g}")
                if lat and "p99_ms" in lat:
                    idle_p99 = idle.get(f"{rate:g}", {}).get("p99_ms", 0.0)
                    busy = mode == "busy"
                    table.append(_row(f"{spec}, {mode}", rate, lat, idle_p99 if busy else None))
    return table
