import json
from pathlib import Path
from typing import Any

import pytest

from talkex_widget.core.presence import PresenceTable, list_presences, sync_diff, sync_state

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "presence.json").read_text())


@pytest.mark.parametrize("case", FIXTURES["sync_state"], ids=lambda c: c["name"])
def test_sync_state_matches_phoenix_js(case: dict[str, Any]) -> None:
    joined: list[str] = []
    left: list[str] = []
    state = sync_state(
        case["state"],
        case["new_state"],
        lambda key, _cur, _new: joined.append(key),
        lambda key, _cur, _left: left.append(key),
    )
    assert state == case["expected"]
    assert sorted(joined) == case["joined"]
    assert sorted(left) == case["left"]


@pytest.mark.parametrize("case", FIXTURES["sync_diff"], ids=lambda c: c["name"])
def test_sync_diff_matches_phoenix_js(case: dict[str, Any]) -> None:
    assert sync_diff(case["state"], case["diff"]) == case["expected"]


def test_sync_state_does_not_mutate_its_input() -> None:
    current = {"u1": {"metas": [{"phx_ref": "1"}]}}
    sync_state(current, {})
    assert current == {"u1": {"metas": [{"phx_ref": "1"}]}}


def test_track_gives_a_join_diff_with_a_fresh_ref() -> None:
    table = PresenceTable()
    ref, diff = table.track("alice", {"status": "online"})
    assert diff == {
        "joins": {"alice": {"metas": [{"status": "online", "phx_ref": ref}]}},
        "leaves": {},
    }
    assert table.state() == {"alice": {"metas": [{"status": "online", "phx_ref": ref}]}}


def test_two_tabs_are_one_key_with_two_metas_and_one_leaving_keeps_the_other() -> None:
    table = PresenceTable()
    ref1, _ = table.track("alice", {"status": "online"})
    ref2, _ = table.track("alice", {"status": "online"})
    assert ref1 != ref2 and len(table) == 1
    assert [m["phx_ref"] for m in table.state()["alice"]["metas"]] == [ref1, ref2]
    diff = table.untrack("alice", ref1)
    assert diff == {
        "joins": {},
        "leaves": {"alice": {"metas": [{"status": "online", "phx_ref": ref1}]}},
    }
    assert "alice" in table
    table.untrack("alice", ref2)
    assert "alice" not in table and table.state() == {}


def test_update_is_a_leave_of_the_old_meta_and_a_join_with_phx_ref_prev() -> None:
    table = PresenceTable()
    ref, _ = table.track("bob", {"status": "online", "online_at": "t"})
    new_ref, diff = table.update("bob", ref, {"status": "away", "online_at": "t"})
    assert diff["leaves"] == {
        "bob": {"metas": [{"status": "online", "online_at": "t", "phx_ref": ref}]}
    }
    assert diff["joins"] == {
        "bob": {
            "metas": [{"status": "away", "online_at": "t", "phx_ref": new_ref, "phx_ref_prev": ref}]
        }
    }
    assert table.get("bob", new_ref)["status"] == "away"
    assert table.get("bob", ref) is None


def test_untrack_of_unknown_is_an_empty_diff_and_update_of_unknown_is_an_error() -> None:
    table = PresenceTable()
    assert table.untrack("ghost", "x") == {"joins": {}, "leaves": {}}
    with pytest.raises(KeyError):
        table.update("ghost", "x", {})


def test_server_diffs_replayed_through_sync_diff_rebuild_the_server_state() -> None:
    """The two halves agree: a client applying every diff ends with the server's state."""
    table = PresenceTable()
    client: dict[str, Any] = {}
    ops = []
    a1, d = table.track("alice", {"status": "online"})
    ops.append(d)
    b1, d = table.track("bob", {"status": "online"})
    ops.append(d)
    _, d = table.track("alice", {"status": "online"})
    ops.append(d)
    _, d = table.update("bob", b1, {"status": "away"})
    ops.append(d)
    ops.append(table.untrack("alice", a1))
    for diff in ops:
        client = sync_diff(client, diff)
    assert client == table.state()
    assert list_presences(client, lambda key, p: (key, len(p["metas"]))) == [
        ("alice", 1),
        ("bob", 1),
    ]
