"""``backends.history``: the wire shape of a message and the URL that picks a store."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from talkex_widget.backends.history import StoredMessage, from_url
from talkex_widget.backends.history.memory import MemoryHistory
from talkex_widget.backends.history.sqlite import SqliteHistory

SENT_AT = "2026-11-29T15:40:01.123Z"


def test_to_wire_is_the_new_msg_payload_without_room() -> None:
    message = StoredMessage(7, "lobby", "ann", "hi", SENT_AT)
    assert message.to_wire() == {"id": 7, "body": "hi", "author": "ann", "sent_at": SENT_AT}


def test_to_wire_carries_client_id_when_set() -> None:
    wire = StoredMessage(7, "lobby", "ann", "hi", SENT_AT, client_id="c1").to_wire()
    assert wire == {"id": 7, "body": "hi", "author": "ann", "sent_at": SENT_AT, "client_id": "c1"}


def test_stored_message_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        StoredMessage(1, "lobby", "ann", "hi", SENT_AT).body = "edited"  # type: ignore[misc]


def test_memory_url() -> None:
    assert isinstance(from_url("memory://"), MemoryHistory)


async def test_sqlite_url_relative_path_is_relative_to_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = from_url("sqlite:///data/talkex.db")
    assert isinstance(store, SqliteHistory)
    await store.start()
    await store.close()
    assert (tmp_path / "data" / "talkex.db").is_file()


async def test_sqlite_url_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs.db"
    store = from_url(f"sqlite:///{path}")  # an absolute path gives four slashes
    await store.start()
    await store.close()
    assert path.is_file()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgres://db/talkex", "unknown scheme"),
        ("talkex.db", "no scheme"),
        ("memory://somewhere", "takes no path"),
        ("sqlite://", "three slashes"),
        ("sqlite://host/talkex.db", "three slashes"),
        ("sqlite:///", "names no file"),
        ("sqlite:///:memory:", "memory://"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        from_url(url)


def test_backends_are_imported_lazily() -> None:
    """Importing the interface must not import sqlite3 (nor, later, a redis driver)."""
    code = (
        "import sys, talkex_widget.backends.history as h;"
        "h.from_url('memory://');"
        "print(sorted(m for m in sys.modules if m == 'sqlite3' or m.startswith('talkex_widget')))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert "sqlite" not in out, out
    assert "talkex_widget.backends.history.memory" in out
