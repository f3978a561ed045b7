"""Real IPython kernels (jupyter_client, no browser) in an isolated Jupyter environment.

Each test gets its own runtime, data and config directories (:mod:`tests.jupyter_dirs`), so
the runtime file the kernels share is the test's own. Kernels run this interpreter (the
venv's) with the checkout on ``PYTHONPATH``, so they import the code under test even without
an install.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from ..jupyter_dirs import KERNEL_NAME, JupyterDirs, jupyter_dirs

__all__ = ["Kernel", "Result", "jupyter_dirs", "kernel_manager", "start_kernel"]

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
    """A manager for this interpreter's kernel, whatever ``python3`` means elsewhere."""
    specs = KernelSpecManager(kernel_dirs=[str(dirs.install_kernelspec())])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


class Kernel:
    """One kernel process and a blocking client for it."""

    def __init__(self, dirs: JupyterDirs, **extra_env: str) -> None:
        self.manager = kernel_manager(dirs)
        self.manager.start_kernel(env=dirs.child_env(**extra_env), cwd=str(dirs.root))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=STARTUP_TIMEOUT)

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

    def shutdown(self) -> None:
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
