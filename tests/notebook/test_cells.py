"""The busy timer on a real background loop with a recording push, the cell hooks on an
in-process IPython, and the activity text."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from talkex_widget.notebook.cells import BusyTimer, CellHooks, cell_activity
from talkex_widget.notebook.embedded import LoopThread

from .threaded import wait_until


class Pushes:
    """Records the statuses a :class:`BusyTimer` sends, with when they were sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str, str | None]] = []
        self.chosen = "online"

    async def __call__(self, status: str, activity: str | None) -> None:
        self.sent.append((time.monotonic(), status, activity))

    def statuses(self) -> list[tuple[str, str | None]]:
        return [(status, activity) for _, status, activity in self.sent]


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    thread = LoopThread("test-busy").start()
    yield thread
    thread.stop()


@pytest.fixture
def pushes() -> Pushes:
    return Pushes()


@pytest.fixture
def timer(loop: LoopThread, pushes: Pushes) -> BusyTimer:
    return BusyTimer(loop, pushes, lambda: pushes.chosen)


def test_a_quick_cell_sends_no_status(loop: LoopThread, pushes: Pushes, timer: BusyTimer) -> None:
    timer.cell_started(60, "running x = 1")
    assert loop.run(lambda: timer.armed)
    timer.cell_finished()
    assert not loop.run(lambda: timer.armed)  # cancelled: nothing can fire any more
    assert pushes.sent == []


def test_a_slow_cell_goes_busy_after_busy_after_and_back(
    loop: LoopThread, pushes: Pushes, timer: BusyTimer
) -> None:
    pushes.chosen = "away"
    started = time.monotonic()
    timer.cell_started(0.2, "running fit()")
    wait_until(lambda: pushes.statuses() == [("busy", "running fit()")], what="busy")
    assert pushes.sent[0][0] - started >= 0.2
    assert not loop.run(lambda: timer.armed)
    timer.cell_finished()
    wait_until(lambda: len(pushes.sent) == 2, what="the status after the cell")
    assert pushes.statuses()[1] == ("away", None)  # the chosen status, not "online"


def test_a_cell_ending_before_the_timer_cancels_it(
    loop: LoopThread, pushes: Pushes, timer: BusyTimer
) -> None:
    timer.cell_started(0.3, "running a()")
    handle = loop.run(lambda: timer._timer)
    timer.cell_finished()
    assert handle is not None and loop.run(handle.cancelled)
    # the next cell arms its own timer, and a finished one sends nothing
    timer.cell_started(0.05, "running b()")
    wait_until(lambda: pushes.statuses() == [("busy", "running b()")], what="b busy")
    timer.cell_finished()
    wait_until(lambda: pushes.statuses()[-1] == ("online", None), what="online after b")


def test_a_failing_push_is_logged_and_the_next_one_still_goes(
    loop: LoopThread, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[str] = []

    async def push(status: str, _activity: str | None) -> None:
        sent.append(status)
        if status == "busy":
            raise ConnectionError("gone")

    timer = BusyTimer(loop, push, lambda: "online")
    timer.cell_started(0, None)
    wait_until(lambda: sent == ["busy"], what="busy tried")
    timer.cell_finished()
    wait_until(lambda: sent == ["busy", "online"], what="online after a failed busy")
    assert "not confirmed yet: gone" in caplog.text


def test_cell_hooks_follow_ipython_cells() -> None:
    shell = InteractiveShell.instance()
    events: list[object] = []
    hooks = CellHooks(events.append, lambda: events.append("finished"))
    hooks.watch()
    hooks.watch()  # once per kernel
    try:
        assert shell.run_cell("# setup\nvalue = 1").success
        assert events == ["running value = 1", "finished"]
    finally:
        hooks.unwatch()
    assert not hooks.watching
    shell.run_cell("value = 2")
    assert len(events) == 2


def test_cell_activity_is_the_first_line_of_code_short_and_printable() -> None:
    assert cell_activity("# load\n\nmodel.fit(X,\ty)\nmore()") == "running model.fit(X, y)"
    assert cell_activity("# only a comment\n   ") is None
    long = cell_activity("x = " + "1" * 200)
    assert long is not None and len(long) == 60 and long.endswith("…")
