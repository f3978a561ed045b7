"""`pip install .` from a clean checkout builds the JS bundle into the wheel (no JS step)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_from_a_clean_checkout_carries_the_built_bundles(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("needs the git checkout to copy the tracked files from")
    checkout = tmp_path / "checkout"
    # Exactly what a clone has: tracked files, no node_modules, no built bundles.
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = checkout / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert not (checkout / "talkex_widget" / "static" / "widget.js").exists()
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(checkout)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = out.glob("talkex_widget-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for bundle in ("widget.js", "page.js", "talkex.css"):
        assert f"talkex_widget/static/{bundle}" in names
    assert not any("node_modules" in n for n in names)
    # pip enables the Jupyter server extension (the chat through Jupyter's port and login)
    config = "etc/jupyter/jupyter_server_config.d/talkex_widget.json"
    assert any(n.endswith(f".data/data/{config}") for n in names)
