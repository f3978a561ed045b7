"""Real IPython kernels (jupyter_client, no browser) in an isolated Jupyter environment.

Each test module gets its own runtime, data and config directories, so the runtime file the
kernels share is the module's own. Kernels run this interpreter (the venv's) with the checkout
on ``PYTHONPATH``, so they import the code under test even without an install.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60


def isolated_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment for a kernel whose Jupyter directories all live under ``root``."""
    dirs = {
        "JUPYTER_RUNTIME_DIR": root / "runtime",
        "JUPYTER_DATA_DIR": root / "data",
        "JUPYTER_CONFIG_DIR": root / "config",
        "IPYTHONDIR": root / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TALKEX_", "JUPYTERHUB_"))}
    env.update({k: str(v) for k, v in dirs.items()})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


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


KERNEL_NAME = "talkex-test"


def install_kernelspec(kernels_dir: Path) -> None:
    """A kernelspec for this interpreter, whatever ``python3`` means elsewhere on the machine."""
    spec = kernels_dir / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python (talkex tests)", "language": "python"})
    )


class Kernel:
    """One kernel process and a blocking client for it."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        kernels_dir = cwd / "kernels"
        install_kernelspec(kernels_dir)
        specs = KernelSpecManager(kernel_dirs=[str(kernels_dir)])
        self.manager = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
        self.manager.start_kernel(env=env, cwd=str(cwd))
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
def jupyter_root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_kernel(jupyter_root: Path) -> Iterator[Any]:
    """``start_kernel(**env)`` -> a :class:`Kernel` in this test's Jupyter environment."""
    kernels: list[Kernel] = []

    def _start(**extra: str) -> Kernel:
        kernel = Kernel(isolated_env(jupyter_root, **extra), jupyter_root)
        kernels.append(kernel)
        return kernel

    yield _start
    for kernel in kernels:
        kernel.shutdown()


def runtime_file(root: Path) -> Path:
    return root / "runtime" / "talkex-server.json"


def wait_for(condition: Any, timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it is truthy (tests wait on conditions, not sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)
