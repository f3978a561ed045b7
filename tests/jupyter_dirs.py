"""One isolated Jupyter environment per test (or per test session): every directory Jupyter,
JupyterLab and IPython read or write lives under one temp root.

Kernels find each other's Talkex server through a runtime file in ``JUPYTER_RUNTIME_DIR``, and
the embedded server keeps its history in ``JUPYTER_DATA_DIR``: a test that shared the real ones
would meet other runs' servers and leave files behind. The same layout serves an in-process
test (:func:`jupyter_dirs` sets it in ``os.environ``), a kernel or a Jupyter server started as a
child process (:meth:`JupyterDirs.child_env`), and the kernels either starts
(:meth:`JupyterDirs.install_kernelspec`).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

__all__ = [
    "KERNEL_NAME",
    "LAB_SETTINGS",
    "REPO",
    "JupyterDirs",
    "jupyter_dirs",
    "write_lab_settings",
    "write_notebook",
]

REPO = Path(__file__).resolve().parents[1]
KERNEL_NAME = "python3"
"""The kernelspec name tests use; ours, in the data dir, shadows any other ``python3``."""

_DIRS = {
    "JUPYTER_CONFIG_DIR": "config",
    "JUPYTER_DATA_DIR": "data",
    "JUPYTER_RUNTIME_DIR": "runtime",
    "JUPYTERLAB_SETTINGS_DIR": "settings",
    "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
    "IPYTHONDIR": "ipython",
}
LAB_SETTINGS: dict[str, dict[str, object]] = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}
"""JupyterLab settings of every test lab: no news pop-up over the page, no autosave (tests
never save a notebook)."""
_FOREIGN = ("TALKEX_", "JUPYTERHUB_")
"""Variables of the caller's own chat or hub, which would point the tests at them."""


@dataclass(frozen=True)
class JupyterDirs:
    root: Path

    @classmethod
    def create(cls, root: Path) -> JupyterDirs:
        for name in _DIRS.values():
            (root / name).mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def settings(self) -> Path:
        return self.root / "settings"

    @property
    def kernels(self) -> Path:
        return self.data / "kernels"

    @property
    def talkex_runtime_file(self) -> Path:
        """Where kernels publish the embedded Talkex server."""
        return self.runtime / "talkex-server.json"

    def variables(self) -> dict[str, str]:
        return {variable: str(self.root / name) for variable, name in _DIRS.items()}

    def child_env(self, **extra: str) -> dict[str, str]:
        """The environment for a kernel or Jupyter server: these dirs, the checkout importable
        (so it runs the code under test even without an install), none of the caller's Talkex
        or hub settings; ``extra`` last."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN)}
        env.update(self.variables())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(extra)
        return env

    def install_kernelspec(self) -> Path:
        """A ``KERNEL_NAME`` kernelspec for this interpreter (the venv's); returns its folder's
        parent, for a ``KernelSpecManager(kernel_dirs=[...])``."""
        spec = self.kernels / KERNEL_NAME
        spec.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.joinpath("kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
        )
        return self.kernels


def write_lab_settings(folder: Path, settings: dict[str, dict[str, object]]) -> None:
    """``settings`` (plugin id -> values) as the files JupyterLab reads from its settings
    folder (``JUPYTERLAB_SETTINGS_DIR``)."""
    for plugin, values in settings.items():
        target = folder / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def write_notebook(path: Path, *sources: str) -> None:
    """A notebook of code cells (never run) for this interpreter's ``python3`` kernel."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources],
        metadata={
            "kernelspec": {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(notebook, path)


@pytest.fixture
def jupyter_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> JupyterDirs:
    """This test's Jupyter dirs, also set in this process's environment (for code under test
    that runs in-process: discovery, the embedded server, the magics)."""
    dirs = JupyterDirs.create(tmp_path / "jupyter")
    for name in list(os.environ):
        if name.startswith(_FOREIGN):
            monkeypatch.delenv(name)
    for name, value in dirs.variables().items():
        monkeypatch.setenv(name, value)
    return dirs
