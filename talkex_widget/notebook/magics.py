"""``%talkex`` and ``%chat``: the IPython extension (``%load_ext talkex_widget``).

    %talkex                 where the server is, the rooms this kernel is in, who is online
    %talkex serve           use (or start) the server shared by this user's kernels
    %talkex stop            stop the server this kernel runs
    %talkex connect URL     use the server at URL (http://HOST:PORT/?token=T) from now on
    %chat [ROOM]            show a chat widget for ROOM (default: lobby)

Nothing printed here contains the token: cell outputs are saved with the notebook. The token of
the shared server is in the runtime file, readable by this user only.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from talkex_widget.notebook.discovery import ServerInfo, health, runtime_file
from talkex_widget.notebook.embedded import manager

__all__ = ["TalkexMagics", "load", "unload"]

USAGE = """\
usage: %talkex [serve | stop | connect URL]
  %talkex               show the server, this kernel's rooms and who is online
  %talkex serve         use the server this user's kernels share, starting one if needed
  %talkex stop          stop the server this kernel runs
  %talkex connect URL   use the server at URL (http://HOST:PORT/?token=TOKEN)
  %chat [ROOM]          show a chat widget (room "lobby" by default)"""


def origin(info: ServerInfo) -> str:
    """Where the current server comes from, in words."""
    servers = manager()
    if info.same_server(servers.owned):
        return f"embedded in this kernel, pid {os.getpid()}"
    if info.pid is not None:
        return f"embedded in the kernel with pid {info.pid}"
    if os.environ.get("TALKEX_URL", "").startswith(info.url.rstrip("/")):
        return "from TALKEX_URL"
    return "chosen with %talkex connect"


def status_report() -> str:
    from talkex_widget.notebook.widget import open_widgets

    info = manager().server(start=False)
    if info is None:
        return "No Talkex server yet: %talkex serve starts one (so does %chat or ChatWidget())."
    lines = [f"Talkex server: {info.url} ({origin(info)})"]
    stats = health(info)
    if stats is None:
        lines.append("  not answering")
    else:
        lines.append(
            f"  {stats['status']}, version {stats.get('version', '?')}, "
            f"{stats.get('rooms', '?')} rooms, {stats.get('connections', '?')} connections"
        )
    if info.pid is not None:
        lines.append(f"  token: in {runtime_file()}")
    widgets = open_widgets()
    if not widgets:
        lines.append("No rooms open in this kernel: %chat ROOM opens one.")
    for widget in widgets:
        try:
            people = ", ".join(f"{name} ({status})" for name, status in widget.presence.items())
        except Exception as exc:
            people = f"not connected: {exc}"
        lines.append(f"#{widget.room} as {widget.nickname}: {people or 'nobody online'}")
    return "\n".join(lines)


@magics_class
class TalkexMagics(Magics):
    @line_magic
    def talkex(self, line: str) -> None:
        """Show or change this kernel's Talkex server; ``%talkex help`` for the commands."""
        args = shlex.split(line)
        command = args[0] if args else "status"
        if command == "status" and len(args) <= 1:
            print(status_report())
        elif command == "serve" and len(args) == 1:
            info = manager().serve()
            print(f"Talkex server: {info.url} ({origin(info)})")
        elif command == "stop" and len(args) == 1:
            if manager().stop():
                print("Stopped the Talkex server of this kernel.")
            else:
                print("This kernel runs no Talkex server.")
        elif command == "connect" and len(args) == 2:
            try:
                info = manager().connect(args[1])
            except (ValueError, ConnectionError) as exc:
                print(f"Not connected: {exc}")
                return
            print(f"Talkex server: {info.url} ({origin(info)})")
        else:
            print(USAGE)

    @line_magic
    def chat(self, line: str) -> None:
        """``%chat [ROOM]``: show a chat widget (``ChatWidget`` for the object itself)."""
        from talkex_widget.notebook.widget import ChatWidget

        args = shlex.split(line)
        if len(args) > 1:
            print("usage: %chat [ROOM]")
            return
        display(ChatWidget(room=args[0] if args else "lobby"))


def load(ipython: Any) -> None:
    ipython.register_magics(TalkexMagics)


def unload(ipython: Any) -> None:
    """Remove the magics, close the widgets, stop the embedded server and the loop."""
    from talkex_widget.notebook.widget import close_all

    line_magics = ipython.magics_manager.magics["line"]
    for name in ("talkex", "chat"):
        line_magics.pop(name, None)
    close_all()
    manager().shutdown()
