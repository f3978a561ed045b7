"""Cell hooks: a notebook says ``busy`` while a long cell runs, and nothing for quick ones.

A person is busy when their kernel is taken by a long computation, not each time they look at
a value: flipping to busy and back for every cell sent two presence diffs per cell to the whole
room and made the list flicker. So :class:`BusyTimer` says ``busy`` only once a cell has run
for a while (``ChatWidget.busy_after``), and the chosen status again when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from talkex_widget.notebook.embedded import LoopThread

__all__ = ["BusyTimer", "CellHooks", "StatusPush", "cell_activity"]

log = logging.getLogger("talkex.widget")

StatusPush = Callable[[str, "str | None"], Awaitable[None]]
"""``push(status, activity)``: change this notebook's presence in its room."""


def cell_activity(raw_cell: str, limit: int = 60) -> str | None:
    """``running <first line of code>`` for the presence meta: short, one line, printable."""
    for line in raw_cell.splitlines():
        line = "".join(ch if ch.isprintable() else " " for ch in line).strip()
        if line and not line.startswith("#"):
            text = "running " + line
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return None


class BusyTimer:
    """One widget's busy status, driven by its cells, on the widget's background loop.

    The kernel thread only posts "started" and "finished" to the loop (in order) and never
    waits: a cell's start is not delayed by the chat, and the timer fires while the cell holds
    the kernel's thread. A cell that ends before ``after`` seconds cancels the timer, and no
    status is sent at all. Pushes go out one after the other, so "busy" never overtakes the
    status that ends it.
    """

    def __init__(self, loop: LoopThread, push: StatusPush, chosen: Callable[[], str]) -> None:
        self._loop = loop
        self._push = push
        self._chosen = chosen  # the status to return to: the person's own choice
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False
        self._last_push: asyncio.Task[None] | None = None

    @property
    def armed(self) -> bool:
        """Whether a cell's timer is pending (read it on the loop)."""
        return self._timer is not None

    def cell_started(self, after: float, activity: str | None) -> None:
        """A cell began (kernel thread): say ``busy`` with ``activity`` after ``after`` s."""
        self._loop.call_soon(self._arm, after, activity)

    def cell_finished(self) -> None:
        """The cell ended (kernel thread): cancel the timer, or end the busy status."""
        self._loop.call_soon(self._disarm)

    def _arm(self, after: float, activity: str | None) -> None:
        self._cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, after), self._went_busy, activity)

    def _went_busy(self, activity: str | None) -> None:
        self._timer = None
        self._busy = True
        self._send("busy", activity)

    def _disarm(self) -> None:
        self._cancel()
        if self._busy:
            self._busy = False
            self._send(self._chosen(), None)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send(self, status: str, activity: str | None) -> None:
        previous = self._last_push

        async def push() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            try:
                await self._push(status, activity)
            except Exception as exc:  # disconnected: the status goes out with the rejoin
                log.warning("status %r not confirmed yet: %s", status, exc)

        self._last_push = asyncio.ensure_future(push())


class CellHooks:
    """IPython's ``pre_run_cell``/``post_run_cell``, registered once per kernel.

    ``started(activity)`` and ``finished()`` are called on the kernel's thread around every
    cell; outside IPython (a script, a test without a shell) nothing is hooked.
    """

    def __init__(self, started: Callable[[str | None], None], finished: Callable[[], None]) -> None:
        self._started = started
        self._finished = finished
        self._shell: Any = None

    @property
    def watching(self) -> bool:
        return self._shell is not None

    def watch(self) -> None:
        if self._shell is not None:
            return
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None:
            return
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)
        self._shell = shell

    def unwatch(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            shell.events.unregister("pre_run_cell", self._pre_run_cell)
            shell.events.unregister("post_run_cell", self._post_run_cell)

    def _pre_run_cell(self, info: Any) -> None:
        self._started(cell_activity(getattr(info, "raw_cell", "") or ""))

    def _post_run_cell(self, _result: Any) -> None:
        self._finished()
