"""``python -m benchmarks``: run the suite against real server processes, print the table.

Every figure also lands in ``benchmarks/results/latest.json`` (git-ignored). Options:

  --quick          shorter measurements: about 1.5 minutes in all instead of about 3
                   (longer against a server that cannot keep up; every wait is bounded)
  --only NAMES     comma-separated subset of: fanout, latency, joins, connections, history,
                   compression (default: these six), host_busy (only when named: about
                   2.5 minutes per variant, 1 with --quick)
  --hosts SPECS    host_busy's variants, comma-separated HOSTING[:SWITCH_INTERVAL][@CHECKOUT]
                   (default: thread,process; with --quick: thread); see benchmarks.host_busy
  --rounds N       host_busy: go through the variants N times in turn and pool the figures
  --sizes N,N      room sizes for fan-out, latency and connections (default: 1000,10000)
  --output PATH    where to write the JSON (default: benchmarks/results/latest.json)
  --talkex-source DIR
                   run the talkex server from another checkout, say an older commit
                   unpacked with ``git archive``, to compare before and after a change

Sockets come from this process over loopback; each server runs as its own process. The
talkex server runs with SQLite history on and with its flood limits raised (see
:mod:`benchmarks.servers`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import compression, host_busy, suite
from .servers import BenchServer, raise_fd_limit

DEFAULT = ("fanout", "latency", "joins", "connections", "history", "compression")
ALL = (*DEFAULT, "host_busy")
"""``host_busy`` hosts the server differently (in a busy kernel's stead) and takes minutes: it
runs when named."""
RESULTS = Path(__file__).parent / "results" / "latest.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Talkex benchmarks (run by hand)."
    )
    parser.add_argument("--quick", action="store_true", help="a 1-2 minute run")
    parser.add_argument("--only", default=",".join(DEFAULT), help=f"subset of {','.join(ALL)}")
    parser.add_argument("--sizes", default="1000,10000", help="room sizes (default 1000,10000)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument(
        "--talkex-source", type=Path, help="checkout whose talkex_widget the server runs"
    )
    parser.add_argument("--hosts", help="host_busy variants (see benchmarks.host_busy)")
    parser.add_argument("--rounds", type=int, default=1, help="host_busy rounds, interleaved")
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = args.only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    args.sizes = [int(n) for n in args.sizes.split(",")]
    hosts = args.hosts or ("thread" if args.quick else "thread,process")
    try:
        args.hosts = [host_busy.Variant.parse(spec) for spec in hosts.split(",") if spec]
    except ValueError as exc:
        parser.error(str(exc))
    return args


class Durations:
    """Seconds each measurement runs (and how long a room's joins may take)."""

    def __init__(self, quick: bool) -> None:
        self.fanout = 3.0 if quick else 8.0
        self.latency = 4.0 if quick else 10.0
        self.heartbeats = 5.0 if quick else 15.0
        self.history = 4.0 if quick else 10.0
        self.join_timeout = 90.0 if quick else 150.0


LATENCY_RATES = {1000: 20.0, 10000: 1.0}
"""Messages per second for the latency benchmark at each room size (the issue's targets)."""


async def rooms_on(
    server: BenchServer, size: int, want: set[str], d: Durations, *, label: str
) -> dict[str, Any]:
    """Fan-out, latency and memory for one room of ``size`` members on a fresh server."""
    out: dict[str, Any] = {}
    rss_before = server.rss_bytes()
    try:
        room = await suite.open_room(server.port, size, join_timeout=d.join_timeout)
    except (asyncio.TimeoutError, OSError, RuntimeError) as exc:
        reason = repr(exc)
        if isinstance(exc, asyncio.TimeoutError):
            reason = f"joining {size:,} sockets took over {d.join_timeout:g} s"
        print(f"  {label} {size}: setup failed: {reason}", flush=True)
        return {"setup_failed": reason}
    try:
        out["join_seconds"] = round(room.join_seconds, 2)
        if "connections" in want:
            rss_after = server.rss_bytes()
            out["memory"] = {
                "sockets": size,
                "rss_before_mb": round(rss_before / 2**20, 1),
                "rss_after_mb": round(rss_after / 2**20, 1),
                "bytes_per_socket": round((rss_after - rss_before) / size),
            }
            out["heartbeats"] = await suite.timed(
                suite.idle_heartbeats(room, server, seconds=d.heartbeats), d.heartbeats + 30
            )
        if "fanout" in want:
            out["fanout"] = await suite.timed(suite.fanout(room, server, seconds=d.fanout), 120)
        if "latency" in want and size in LATENCY_RATES:
            out["latency"] = await suite.timed(
                suite.latency(room, server, rate=LATENCY_RATES[size], seconds=d.latency), 90
            )
    finally:
        room.close()
    print(f"  {label} {size}: {json.dumps(out)}", flush=True)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    d = Durations(args.quick)
    want = args.only
    results: dict[str, Any] = {"talkex": {}, "plain": {}}
    if want & {"fanout", "latency", "connections"}:
        for size in args.sizes:
            with BenchServer.talkex() as server:
                results["talkex"][str(size)] = await rooms_on(server, size, want, d, label="talkex")
            await asyncio.sleep(1)
            if "fanout" in want:
                with BenchServer.plain() as server:
                    results["plain"][str(size)] = await rooms_on(
                        server, size, {"fanout"}, d, label="plain"
                    )
                await asyncio.sleep(1)
    if "joins" in want:
        with BenchServer.talkex() as server:
            results["join_storm"] = await suite.join_storm(
                server.port, 1000, spread=2.0, timeout=d.join_timeout
            )
        print(f"  join storm: {json.dumps(results['join_storm'])}", flush=True)
    if "history" in want:
        with BenchServer.talkex() as server:
            results["history"] = await suite.history(server.port, senders=20, seconds=d.history)
        print(f"  history: {json.dumps(results['history'])}", flush=True)
    if "compression" in want:
        results["compression"] = compression.measure()
        print(f"  compression: {json.dumps(results['compression'])}", flush=True)
    if "host_busy" in want:
        durations = host_busy.Durations.of(args.quick)
        results["host_busy"] = await host_busy.run(args.hosts, durations, rounds=args.rounds)
    return results


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _rate(per_second: int | None) -> str:
    return "-" if per_second is None else f"{per_second:,}/s"


def table(results: dict[str, Any], sizes: list[int]) -> list[list[str]]:
    """Rows of (benchmark, measured, target, verdict)."""
    rows: list[list[str]] = []

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else ("ok" if ok else "MISSED")

    for size in sizes:
        for name in ("talkex", "plain"):
            failed = _get(results, name, str(size), "setup_failed")
            if failed:
                rows.append([f"Setup, {size:,} members ({name})", f"failed: {failed}", "", ""])
        ours = _get(results, "talkex", str(size), "fanout", "deliveries_per_s")
        plain = _get(results, "plain", str(size), "fanout", "deliveries_per_s")
        if ours is None and plain is None:
            continue
        ratio = ours / plain if ours and plain else None
        measured = f"{_rate(ours)} vs plain write_message {_rate(plain)}"
        if ratio:
            measured += f" = {ratio:.1f}x"
        rows.append(
            [
                f"Fan-out, {size:,} members",
                measured,
                ">= 3x plain",
                verdict(ratio >= 3 if ratio else None),
            ]
        )
    for size, limit in ((1000, 50), (10000, 250)):
        lat = _get(results, "talkex", str(size), "latency")
        if not lat or "p99_ms" not in lat:
            continue
        rows.append(
            [
                f"Latency, {size:,} x {lat['rate_per_s']:g} msg/s",
                f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms "
                f"({lat['received']}/{lat['expected']} received)",
                f"p99 <= {limit} ms",
                verdict(lat["p99_ms"] <= limit and lat["received"] == lat["expected"]),
            ]
        )
    storm = results.get("join_storm")
    if storm:
        converged = storm.get("converged_after_last_join_s")
        rows.append(
            [
                f"Join storm, {storm['members']:,} in {storm['join_spread_s']} s",
                f"all views complete {converged} s after the last join"
                if converged is not None
                else "did not converge",
                "<= 3 s",
                verdict(converged is not None and converged <= 3),
            ]
        )
        rows.append(
            [
                "Join storm presence traffic",
                f"{storm['presence_frames']:,} frames = {100 * storm['frames_vs_naive']:.1f}% "
                f"of N^2/2 = {storm['naive_diff_deliveries']:,}; "
                f"{storm['presence_bytes'] / 2**20:.1f} MB",
                "<= 5% of N^2/2",
                verdict(storm["frames_vs_naive"] <= 0.05),
            ]
        )
    for size in sizes:
        memory = _get(results, "talkex", str(size), "memory")
        if memory:
            kb = memory["bytes_per_socket"] / 1024
            rows.append(
                [
                    f"Memory per joined socket, {size:,} sockets",
                    f"{kb:.1f} KB (RSS {memory['rss_before_mb']} -> {memory['rss_after_mb']} MB)",
                    "<= 25 KB",
                    verdict(kb <= 25 if size >= 10000 else None),
                ]
            )
        beats = _get(results, "talkex", str(size), "heartbeats")
        if beats and "server_cpu_percent" in beats:
            rows.append(
                [
                    f"Idle heartbeats, {size:,} sockets every {beats['heartbeat_interval_s']:g} s",
                    f"server CPU {beats['server_cpu_percent']}% "
                    f"(silent: {beats['server_cpu_percent_silent']}%; "
                    f"{beats['cpu_us_per_heartbeat']} us per heartbeat)",
                    "",
                    "",
                ]
            )
    hist = results.get("history")
    if hist:
        rows.append(
            [
                "History on SQLite, acknowledged",
                f"{hist['acked_per_s']:,} msg/s ({hist['senders']} senders)",
                "",
                "",
            ]
        )
    comp = results.get("compression")
    if comp:
        rows.append(
            [
                "permessage-deflate (off by default)",
                f"+{comp['compress_us_per_delivery']} us per delivery, "
                f"{comp['kb_per_socket']:.0f} KB of zlib state per socket",
                "off",
                "",
            ]
        )
    return rows


BUSY = 0.15
"""Cores' worth of CPU used by other processes above which a figure is flagged."""


def neighbour_notes(results: dict[str, Any]) -> list[str]:
    """Figures taken while other processes competed for the two cores: understated."""
    notes = []
    for name in ("talkex", "plain"):
        for size, figures in results.get(name, {}).items():
            for bench in ("fanout", "latency"):
                other = _get(figures, bench, "other_cpu")
                if other is not None and other > BUSY:
                    notes.append(
                        f"note: other processes used {other:g} cores during the {name} "
                        f"{bench} at {int(size):,}: that figure is understated"
                    )
    return notes


def render(rows: list[list[str]], head: list[str] | None = None) -> str:
    head = head or ["Benchmark", "Measured", "Target", ""]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *(line(row) for row in rows)])


def _git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        root = Path(__file__).resolve().parent.parent
        rev = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True)
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "talkex_widget"], cwd=root, check=False
        ).returncode
        return rev.strip() + ("+changes" if dirty else "")
    return "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.talkex_source is not None:
        BenchServer.source = args.talkex_source.resolve()
        args.hosts = [v.from_source(BenchServer.source) for v in args.hosts]
    fds = raise_fd_limit()
    if max(args.sizes) + 100 > fds:
        print(f"open-file limit {fds} is too low for {max(args.sizes)} sockets", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print(f"talkex benchmarks ({'quick' if args.quick else 'full'} run)", flush=True)
    results = asyncio.run(run(args))
    rows = table(results, args.sizes)
    host_rows = host_busy.rows(results.get("host_busy", {}))
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "revision": _git_revision(),
        "talkex_source": str(BenchServer.source),
        "quick": args.quick,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "seconds": round(time.perf_counter() - started),
        "results": results,
        "table": rows,
        "host_busy_table": host_rows,
        "notes": neighbour_notes(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    if rows:
        print(render(rows))
    if host_rows:
        print("\nLatency while the host computes (see benchmarks.host_busy)")
        print(render(host_rows, host_busy.HEAD))
    for note in report["notes"]:
        print(note)
    print(f"\n{report['seconds']} s; figures in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
