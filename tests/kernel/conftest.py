"""Real IPython kernels (jupyter_client) in an isolated Jupyter environment; Chromium too, for
the tests that watch a page beside them (the browser suite's fixtures, run last).

Each test gets its own runtime, data and config directories (:mod:`tests.jupyter_dirs`), so
the runtime file the kernels share is the test's own. Kernels run this interpreter (the
venv's) with the checkout on ``PYTHONPATH``, so they import the code under test even without
an install.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from ..browser.conftest import browser, new_context, pytest_runtest_makereport
from ..jupyter_dirs import KERNEL_NAME, JupyterDirs, jupyter_dirs
from ..notebook.conftest import pytest_collection_modifyitems  # browser tests run last

__all__ = [
    "IOPub",
    "Kernel",
    "Result",
    "browser",
    "jupyter_dirs",
    "kernel_manager",
    "new_context",
    "pytest_collection_modifyitems",
    "pytest_runtest_makereport",
    "start_kernel",
]

STARTUP_TIMEOUT = 60


@dataclass
class Result:
    stdout: str = ""
    stderr: str = ""
    data: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def text(self) -> str:
        """``text/plain`` of the results and displays, after the printed output."""
        return self.stdout + "".join(d.get("text/plain", "") for d in self.data)


def kernel_manager(dirs: JupyterDirs) -> KernelManager:
    """A manager for this interpreter's kernel, whatever ``python3`` means elsewhere.

    The kernel listens on Unix sockets, not TCP ports: a TCP port is picked free by the
    manager and bound later by the kernel, and on a busy machine something else can take it
    in between ("Address already in use", a kernel that never starts). The sockets live in a
    short folder of their own (a socket path holds at most about 100 bytes).
    """
    specs = KernelSpecManager(kernel_dirs=[str(dirs.install_kernelspec())])
    sockets = tempfile.mkdtemp(prefix="txk-")
    manager = KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=specs,
        transport="ipc",
        ip=os.path.join(sockets, "k"),
    )
    weakref.finalize(manager, shutil.rmtree, sockets, True)
    return manager


class IOPub:
    """Every IOPub message of a kernel, as any front end (and so a saved notebook) gets them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while self.client.iopub_channel.msg_ready():
            self.messages.append(self.client.get_iopub_msg(timeout=1))
        return self.messages

    def wait(self, match: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
        """The first message ``match`` accepts, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.drain()[seen:]:
                if match(msg):
                    return msg
            seen = len(self.messages)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching IOPub message")
            with contextlib.suppress(queue.Empty):
                self.messages.append(self.client.get_iopub_msg(timeout=min(remaining, 0.5)))

    def custom(self, comm_id: str) -> list[dict[str, Any]]:
        """The custom messages widget ``comm_id`` sent to its views."""
        return [
            m["content"]["data"]["content"]
            for m in self.drain()
            if m["msg_type"] == "comm_msg"
            and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("method") == "custom"
        ]

    def text(self) -> str:
        """Everything seen, as one string (to look for what must not be there)."""
        return json.dumps(self.drain(), default=str)


_serial = itertools.count(1)


class Kernel:
    """One kernel process and a blocking client for it.

    The process's own stdout and stderr (what a kernel writes outside any cell, and where
    Python's last-resort logging ends up) go to :attr:`log`.
    """

    def __init__(self, dirs: JupyterDirs, **extra_env: str) -> None:
        self.manager = kernel_manager(dirs)
        self.log = dirs.root / f"kernel-{next(_serial)}.log"
        with self.log.open("wb") as out:
            self.manager.start_kernel(
                env=dirs.child_env(**extra_env), cwd=str(dirs.root), stdout=out, stderr=out
            )
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=STARTUP_TIMEOUT)
        self._watchers: list[Any] = []

    @property
    def pid(self) -> int:
        return int(self.value("__import__('os').getpid()"))

    def run(self, code: str, timeout: float = 30) -> Result:
        """Execute ``code`` and wait for it; raises if the cell raised."""
        result = Result()

        def output(msg: dict[str, Any]) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind in ("execute_result", "display_data"):
                result.data.append(content["data"])
            elif kind == "error":
                result.error = "\n".join(content["traceback"])

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=output)
        if reply["content"]["status"] != "ok" or result.error:
            raise AssertionError(f"cell failed:\n{code}\n{result.error or reply['content']}")
        return result

    def value(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JSON-able ``expression`` evaluated in the kernel."""
        out = self.run(f"import json as _j; print(_j.dumps({expression}))", timeout).stdout
        return json.loads(out.strip().splitlines()[-1])

    def start(self, code: str) -> str:
        """Begin executing ``code`` without waiting; returns the request's msg_id."""
        return self.client.execute(code)

    def busy(self, msg_id: str, timeout: float = 10) -> None:
        """Wait until the kernel reports it is busy with request ``msg_id``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.client.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            if (
                msg["msg_type"] == "status"
                and msg["parent_header"].get("msg_id") == msg_id
                and msg["content"]["execution_state"] == "busy"
            ):
                return
        raise AssertionError("the kernel never became busy")

    def reply_ready(self, msg_id: str) -> bool:
        """Whether the execute reply for ``msg_id`` has arrived (consumes shell messages)."""
        while self.client.shell_channel.msg_ready():
            msg = self.client.get_shell_msg(timeout=1)
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    def comm_send(self, comm_id: str, data: dict[str, Any]) -> None:
        """Send a ``comm_msg`` as a front end would (a widget update, a custom message)."""
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def watch(self) -> IOPub:
        """A second client that records everything this kernel broadcasts from now on.

        It has a session of its own (a second client of the manager would share the first's
        identity and steal its replies) and listens to IOPub only; it is returned once it
        receives, since a subscription takes a moment to start and misses what came before.
        """
        watcher = BlockingKernelClient()
        watcher.load_connection_info(self.manager.get_connection_info())
        watcher.start_channels(shell=False, stdin=False, hb=False, control=False)
        self._watchers.append(watcher)
        iopub = IOPub(watcher)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not iopub.drain():
            assert time.monotonic() < deadline, "the IOPub subscription never started"
            self.client.kernel_info()  # its busy and idle statuses reach every subscriber
            with contextlib.suppress(queue.Empty):
                iopub.messages.append(watcher.get_iopub_msg(timeout=0.2))
        return iopub

    def shutdown(self) -> None:
        for watcher in self._watchers:
            watcher.stop_channels()
        self.client.stop_channels()
        if self.manager.is_alive():
            self.manager.shutdown_kernel(now=False)


@pytest.fixture
def start_kernel(jupyter_dirs: JupyterDirs) -> Iterator[Callable[..., Kernel]]:
    """``start_kernel(**env)`` -> a :class:`Kernel` in this test's Jupyter environment."""
    kernels: list[Kernel] = []

    def _start(**extra_env: str) -> Kernel:
        kernel = Kernel(jupyter_dirs, **extra_env)
        kernels.append(kernel)
        return kernel

    yield _start
    for kernel in kernels:
        kernel.shutdown()
