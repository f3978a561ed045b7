"""The stock phoenix.js client (npm ``phoenix`` over ``ws``) against the real server.

If the official client can join, push, get replies and keep ``Presence`` in sync, the server
speaks Phoenix Channels V2 correctly: this is the protocol's conformance test.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from talkex_widget.server.app import TalkexServer

from .conftest import TOKEN, base_url

SCRIPT = Path(__file__).resolve().parents[1] / "js" / "conformance" / "phoenix_conformance.mjs"


async def test_stock_phoenix_js_client_joins_chats_and_syncs_presence(server: TalkexServer) -> None:
    if shutil.which("node") is None:
        pytest.fail("Node.js is missing: `make test` installs it")
    if not (SCRIPT.parent.parent / "node_modules" / "phoenix").exists():
        pytest.fail("js/node_modules is missing: run `make test` (it runs npm ci)")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        base_url(server),
        TOKEN,
        "--timeout",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"stdout={stdout.decode()} stderr={stderr.decode()}"
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    assert result["ok"] is True
    steps = [step["step"] for step in result["steps"]]
    for expected in ("join", "presence_sync", "new_msg", "new_status", "leave"):
        assert expected in steps
    assert all(step["ok"] for step in result["steps"])
