"""A stand-in for a kernel that hosts the embedded server, for :mod:`benchmarks.host_busy`.

``python -m benchmarks.host --counter FILE --db URL [--busy] [--hosting thread|process]
[--switch-interval S] [--source DIR] --port N`` serves Talkex on ``127.0.0.1:N`` the way a
kernel would, while its main thread either sleeps (an idle kernel) or runs a CPU-bound
pure-Python loop (a kernel running a cell): the case where the server thread must wait for
the GIL at each wake-up.

* ``thread``: the product's :class:`~talkex_widget.notebook.threads.ServerThread`, with the
  history in SQLite, in this process (``TALKEX_EMBEDDED=thread``; with ``--switch-interval
  0.001`` as the product sets it, the default interpreter's 5 ms without).
* ``process``: the product's :class:`~talkex_widget.notebook.child.EmbeddedProcess`, the
  default: the server in a child process of this one, which never shares an interpreter with
  the cell. A checkout from before it (``--source``) has none, and fails to start here.

The busy loop publishes its iteration count in :class:`LoopCounter`, an 8-byte shared file the
driver reads at the edges of each window: the loop never makes a system call or a wake-up to
report, so measuring it does not slow it. ``--source`` imports another checkout's
``talkex_widget`` (before/after comparisons in one run).
"""

from __future__ import annotations

import argparse
import mmap
import signal
import struct
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from talkex_widget.server.config import ServerConfig

__all__ = ["CHUNK", "LoopCounter", "main"]

CHUNK = 10_000
"""Loop iterations between two updates of the shared count (about a millisecond)."""

_COUNT = struct.Struct("<q")


class LoopCounter:
    """Iterations done by the host's busy loop, in a file both processes map."""

    def __init__(self, path: Path) -> None:
        with path.open("r+b") as file:
            self._map = mmap.mmap(file.fileno(), _COUNT.size)

    @classmethod
    def create(cls, path: Path) -> LoopCounter:
        """Make the file (zero iterations) before the host starts, so both map the same one."""
        path.write_bytes(bytes(_COUNT.size))
        return cls(path)

    def read(self) -> int:
        return int(_COUNT.unpack_from(self._map)[0])

    def write(self, count: int) -> None:
        _COUNT.pack_into(self._map, 0, count)


def busy_loop(counter: LoopCounter) -> NoReturn:
    """Pure-Python arithmetic that never releases the GIL by itself, like a ``for`` loop or
    a pandas ``apply`` over Python objects in a notebook cell."""
    done = 0
    x = 0
    while True:
        for i in range(CHUNK):
            x = (x * 31 + i) % 1_000_003
        done += CHUNK
        counter.write(done)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.host")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="history URL, sqlite:///PATH")
    parser.add_argument("--counter", type=Path, required=True, help="the shared count file")
    parser.add_argument("--busy", action="store_true", help="run the CPU-bound loop")
    parser.add_argument("--hosting", choices=("thread", "process"), default="thread")
    parser.add_argument("--switch-interval", type=float, help="sys.setswitchinterval(S)")
    parser.add_argument("--source", type=Path, help="checkout whose talkex_widget to run")
    return parser.parse_args(argv)


def bench_config(args: argparse.Namespace) -> ServerConfig:
    """The embedded server's configuration, with the limits that would throttle the load lifted
    (as :attr:`~benchmarks.servers.BenchServer.TALKEX_OPTIONS` does for ``talkex serve``)."""
    from talkex_widget.core.limits import Limits
    from talkex_widget.server.config import ServerConfig

    limits = Limits(
        messages_per_window=1_000_000,
        message_window=1.0,
        frames_per_window=1_000_000,
        frame_window=1.0,
        max_connections_per_nickname=0,
        max_connections_per_ip=0,
    )
    return ServerConfig(port=args.port, token="", db=args.db, idle_timeout=300, limits=limits)


def serve(args: argparse.Namespace) -> Callable[[], None]:
    """Start the server as ``--hosting`` says; returns how to stop it."""
    if args.hosting == "thread":
        from talkex_widget.notebook.threads import ServerThread

        thread = ServerThread(bench_config(args)).start()
        return thread.stop
    from talkex_widget.notebook.child import EmbeddedProcess

    child = EmbeddedProcess(bench_config(args)).start()
    return child.stop


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.source is not None:
        sys.path.insert(0, str(args.source.resolve()))
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    # SIGTERM (how the driver stops us) as an exception, so ``finally`` stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stop = serve(args)
    try:
        if args.busy:
            busy_loop(LoopCounter(args.counter))
        threading.Event().wait()
    finally:
        stop()


if __name__ == "__main__":
    main()
