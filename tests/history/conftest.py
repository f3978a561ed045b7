"""Fixtures for the history tests: one ``store`` per backend, so the contract runs on each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkex_widget.history import HistoryStore, from_url


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A database path whose folder does not exist yet: the store must create it."""
    return tmp_path / "state" / "talkex.db"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, sqlite_path: Path) -> AsyncIterator[HistoryStore]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{sqlite_path}"
    history = from_url(url)
    await history.start()
    yield history
    await history.close()
