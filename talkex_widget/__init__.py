"""Talkex: chat with presence beside your notebook code.

Importing the package stays cheap (no Tornado, no widget machinery) so ``%load_ext`` and the
CLI start fast; the heavy parts are imported where they are used. ``talkex_widget.ChatWidget``
(and ``Code``, for ``chat.share(Code(sql, "sql"))``) is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from talkex_widget.core.version import __version__

__all__ = [
    "ChatWidget",
    "Code",
    "__version__",
    "load_ipython_extension",
    "unload_ipython_extension",
]

if TYPE_CHECKING:
    from talkex_widget.notebook.sharing import Code
    from talkex_widget.notebook.widget import ChatWidget


def __getattr__(name: str) -> Any:
    if name == "ChatWidget":
        from talkex_widget.notebook.widget import ChatWidget

        return ChatWidget
    if name == "Code":
        from talkex_widget.notebook.sharing import Code

        return Code
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (:mod:`talkex_widget.notebook.jupyter_ext`), enabled by
    the ``jupyter_server_config.d`` entry the package installs."""
    return [{"module": "talkex_widget.notebook.jupyter_ext"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext talkex_widget``: the ``%talkex`` and ``%chat`` magics."""
    from talkex_widget.notebook.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext talkex_widget``: magics removed, widgets closed, embedded server stopped."""
    from talkex_widget.notebook.magics import unload

    unload(ipython)
