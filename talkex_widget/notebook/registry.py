"""The chat widgets of this kernel, and what they share, behind one object.

``%talkex`` lists the open widgets, ``%unload_ext`` closes them, IPython's cell events reach
each of them, and their ``on_message`` callbacks share one worker thread. Holding all of that in
a :class:`WidgetRegistry` (one per kernel, in :mod:`.widget`) keeps that state in one place that
a test can replace, instead of module globals.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Generic, Protocol, TypeVar

from talkex_widget.notebook.callbacks import CallbackRunner
from talkex_widget.notebook.cells import CellHooks

__all__ = ["Member", "WidgetRegistry"]


class Member(Protocol):
    """What the registry asks of a widget."""

    def _cell_started(self, activity: str | None) -> None: ...

    def _cell_finished(self) -> None: ...

    def close(self) -> None: ...


W = TypeVar("W", bound=Member)


class WidgetRegistry(Generic[W]):
    """Open widgets, oldest first; the cell hooks while any was opened; the callback thread.

    Widgets are held weakly: one the notebook dropped is not kept alive for the list.
    """

    def __init__(self) -> None:
        self._members: weakref.WeakKeyDictionary[W, int] = weakref.WeakKeyDictionary()
        self._serials = itertools.count(1)
        self.callbacks = CallbackRunner()
        self.cells = CellHooks(self._cell_started, self._cell_finished)

    def add(self, widget: W) -> None:
        """Register an opened widget, and hook the kernel's cells if not done yet."""
        self._members[widget] = next(self._serials)
        self.cells.watch()

    def discard(self, widget: W) -> None:
        self._members.pop(widget, None)

    def open(self) -> list[W]:
        """The widgets that are not closed, oldest first."""
        members = list(self._members.items())
        return [widget for widget, _ in sorted(members, key=lambda item: item[1])]

    def close_all(self) -> None:
        """Unhook the cells and close every widget (``%unload_ext``)."""
        self.cells.unwatch()
        for widget in self.open():
            widget.close()

    def _cell_started(self, activity: str | None) -> None:
        for widget in self.open():
            widget._cell_started(activity)

    def _cell_finished(self) -> None:
        for widget in self.open():
            widget._cell_finished()
