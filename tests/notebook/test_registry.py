"""The kernel's widget registry: open widgets oldest first, held weakly, cell events for each."""

from __future__ import annotations

import gc

from talkex_widget.notebook.registry import WidgetRegistry


class Member:
    def __init__(self, name: str, registry: WidgetRegistry[Member]) -> None:
        self.name = name
        self.registry = registry
        self.events: list[str] = []

    def _cell_started(self, activity: str | None) -> None:
        self.events.append(f"started {activity}")

    def _cell_finished(self) -> None:
        self.events.append("finished")

    def close(self) -> None:
        self.events.append("closed")
        self.registry.discard(self)


def test_open_members_oldest_first_weakly_held_and_closed_together() -> None:
    registry: WidgetRegistry[Member] = WidgetRegistry()
    a, b, c = (Member(name, registry) for name in "abc")
    for member in (b, a, c):
        registry.add(member)
    assert [m.name for m in registry.open()] == ["b", "a", "c"]
    del c, member  # the last references
    gc.collect()
    assert [m.name for m in registry.open()] == ["b", "a"]

    registry._cell_started("running x")
    registry._cell_finished()
    assert a.events == b.events == ["started running x", "finished"]

    registry.close_all()
    assert registry.open() == [] and a.events[-1] == b.events[-1] == "closed"
    assert not registry.cells.watching
