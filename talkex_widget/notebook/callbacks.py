"""Where ``ChatWidget.on_message`` callbacks run: one worker thread, in arrival order.

Not the background loop that receives the messages: a callback may call the blocking API
(``send``), which waits for that very loop, and would deadlock it. Not the kernel's thread
either: callbacks must run while a cell keeps it busy.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from talkex_widget.notebook.link import MessageCallback

__all__ = ["CallbackRunner"]

log = logging.getLogger("talkex.widget")


class CallbackRunner:
    """A single worker thread shared by every widget of the kernel, started on first use."""

    def __init__(self, name: str = "talkex-callbacks") -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, callback: MessageCallback, message: dict[str, Any]) -> None:
        """Queue ``callback(message)``; an exception is logged, never raised into the loop."""
        self._worker().submit(_run, callback, message)

    def _worker(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
            return self._executor


def _run(callback: MessageCallback, message: dict[str, Any]) -> None:
    try:
        callback(message)
    except Exception:
        log.exception("on_message callback %r failed", callback)
