"""The tour notebook runs top to bottom in a fresh kernel, and saving it leaks no token."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from ..jupyter_dirs import REPO, JupyterDirs
from .conftest import kernel_manager

TOUR = REPO / "notebooks" / "tour.ipynb"


def test_tour_runs_top_to_bottom(jupyter_dirs: JupyterDirs) -> None:
    nb = nbformat.read(TOUR, as_version=4)
    km = kernel_manager(jupyter_dirs)
    client = NotebookClient(
        nb, km=km, timeout=60, resources={"metadata": {"path": str(jupyter_dirs.root)}}
    )
    runtime_file = jupyter_dirs.talkex_runtime_file
    token_seen: list[str] = []

    def grab_token(**_: object) -> None:  # while the kernel runs, its runtime file has the token
        if runtime_file.exists() and not token_seen:
            token_seen.append(json.loads(runtime_file.read_text())["token"])

    client.on_cell_executed = grab_token
    try:
        client.execute(env=jupyter_dirs.child_env())
    finally:  # nbclient leaves a kernel manager it was given running
        if km.is_alive():
            km.shutdown_kernel(now=False)

    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    text = nbformat.writes(nb)
    assert "Hello from the tour notebook!" in text
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
    # the saved notebook (outputs and widget state) never holds the token
    assert token_seen and token_seen[0] not in text
    # the kernel is gone: on its way out, it stopped its server and removed the runtime file
    assert not runtime_file.exists()
