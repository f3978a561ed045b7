"""The host-busy benchmark runs end to end in a very short form and yields its figures.

Timings are not asserted: this machine's neighbours make them noise in a test. What is checked
is that the benchmark still works (hosts start, the room joins, every round trip is timed,
the busy loop is read), so the numbers in the README can be reproduced by hand.
"""

from __future__ import annotations

import pytest

from benchmarks import host_busy
from benchmarks.__main__ import parse_args, render

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

TINY = host_busy.Durations(traffic=1.0, quiet=0.7, join_timeout=20.0)


async def test_host_busy_produces_every_figure() -> None:
    """Before (the server on a thread of the host) and after (in its child process), one run."""
    variants = [host_busy.Variant.parse(spec) for spec in ("thread", "process")]
    results = await host_busy.run(variants, TINY)

    for spec in ("thread", "process"):
        modes = results[spec]
        for mode in ("idle", "busy"):
            assert "setup_failed" not in modes[mode], modes[mode]
            for rate in host_busy.RATES:
                figures = modes[mode][f"{rate:g}"]
                assert figures["received"] == figures["expected"] > 0
                assert 0 < figures["p50_ms"] <= figures["p99_ms"]
                assert len(figures["load_averages"]) == 1
        busy = modes["busy"]["2"]
        assert busy["rounds"][0]["loop"]["iterations_per_s"] > 0
        assert len(busy["rounds"][0]["quiet"]) == 2
        assert isinstance(busy["gil_lost"], float)

    table = host_busy.rows(results)
    assert len(table) == 2 * 2 * len(host_busy.RATES)
    assert "thread, busy" in render(table, host_busy.HEAD)
    assert "process, busy" in render(table, host_busy.HEAD)


def test_variants_parse_from_the_command_line() -> None:
    args = parse_args(["--only", "host_busy", "--hosts", "thread:0.001,process@/tmp/old"])
    fast, child = args.hosts
    assert (fast.hosting, fast.switch_interval, fast.source) == ("thread", 0.001, None)
    assert (child.hosting, str(child.source)) == ("process", "/tmp/old")
    with pytest.raises(SystemExit):
        parse_args(["--hosts", "fork"])


def test_rounds_pool_their_round_trips() -> None:
    rounds = [
        {"load_average": 1.0, "expected": 2, "samples": [0.001, 0.003], "gil_lost": 0.01},
        {"load_average": 3.0, "expected": 2, "samples": [0.002], "gil_lost": 0.03},
        {"load_average": 2.0, "timeout_s": 60, "gil_lost": 0.02},
    ]
    pooled = host_busy.pool(rounds)
    assert (pooled["received"], pooled["expected"]) == (3, 5)  # the timed-out round: missing
    assert (pooled["p50_ms"], pooled["max_ms"]) == (2.0, 3.0)
    assert pooled["gil_lost"] == 0.02
    assert pooled["load_averages"] == [1.0, 3.0, 2.0]
    assert all("samples" not in r for r in pooled["rounds"])
