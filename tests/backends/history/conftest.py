"""Fixtures for the history tests: one ``store`` per backend, so the contract runs on each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkex_widget.backends.history import HistoryStore, from_url
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]  # the session fixture, registered for this folder


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A database path whose folder does not exist yet: the store must create it."""
    return tmp_path / "state" / "talkex.db"


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def store(request: pytest.FixtureRequest, sqlite_path: Path) -> AsyncIterator[HistoryStore]:
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        url = server.url()
    else:
        url = "memory://" if request.param == "memory" else f"sqlite:///{sqlite_path}"
    history = from_url(url)
    await history.start()
    yield history
    await history.close()
