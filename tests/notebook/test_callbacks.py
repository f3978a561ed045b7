"""on_message callbacks: one worker thread, in order, a failing callback logged, not raised."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from talkex_widget.notebook.callbacks import CallbackRunner

from .threaded import wait_until


def test_callbacks_run_in_order_on_one_thread_and_failures_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = CallbackRunner("test-callbacks")
    seen: list[tuple[int, str]] = []

    def record(message: dict[str, Any]) -> None:
        seen.append((message["id"], threading.current_thread().name))

    def fail(message: dict[str, Any]) -> None:
        raise ValueError(f"bad {message['id']}")

    for n in range(20):
        runner.submit(record, {"id": n})
        runner.submit(fail, {"id": n})
    wait_until(lambda: len(seen) == 20, what="every callback")
    assert [n for n, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"test-callbacks_0"}
    wait_until(lambda: "bad 19" in caplog.text, what="the last failure logged")
