"""A stand-in for a kernel that hosts the embedded server, for :mod:`benchmarks.host_busy`.

``python -m benchmarks.host --counter FILE --db URL [--busy] [--hosting thread|process]
[--switch-interval S] [--source DIR] --port N`` serves Talkex on ``127.0.0.1:N`` the way a
kernel would, while its main thread either sleeps (an idle kernel) or runs a CPU-bound
pure-Python loop (a kernel running a cell): the case where the server thread must wait for
the GIL at each wake-up.

* ``thread``: the product's :class:`~talkex_widget.notebook.embedded.ServerThread`, with the
  history in SQLite, in this process.
* ``process``: ``talkex serve`` as a child of this process, the alternative where the server
  never shares an interpreter with the cell.

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
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tests.processes import TalkexServe

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
    parser.add_argument("--log", type=Path, help="the talkex serve child's log (process)")
    return parser.parse_args(argv)


def serve_in_thread(args: argparse.Namespace) -> None:
    """The embedded server as a kernel runs it, with the benchmarks' limits lifted."""
    from talkex_widget.core.limits import Limits
    from talkex_widget.notebook.embedded import ServerThread
    from talkex_widget.server.app import ServerConfig

    limits = Limits(
        messages_per_window=1_000_000,
        message_window=1.0,
        frames_per_window=1_000_000,
        frame_window=1.0,
        max_connections_per_nickname=0,
        max_connections_per_ip=0,
    )
    config = ServerConfig(port=args.port, token="", db=args.db, idle_timeout=300, limits=limits)
    ServerThread(config).start()


def serve_in_process(args: argparse.Namespace) -> TalkexServe:
    """``talkex serve`` as this process's child; returns it, to be stopped on exit."""
    from benchmarks.servers import BenchServer
    from tests.processes import TalkexServe

    options = BenchServer.TALKEX_OPTIONS
    log = args.log or args.counter.with_name("serve.log")
    source = args.source or Path(__file__).resolve().parent.parent
    child = TalkexServe(*options, token="", db=args.db, log=log, port=args.port, source=source)
    return child.start()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.source is not None:
        sys.path.insert(0, str(args.source.resolve()))
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    # SIGTERM (how the driver stops us) as an exception, so ``finally`` stops a child server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    child = None
    try:
        if args.hosting == "thread":
            serve_in_thread(args)
        else:
            child = serve_in_process(args)
        if args.busy:
            busy_loop(LoopCounter(args.counter))
        threading.Event().wait()
    finally:
        if child is not None:
            child.stop()


if __name__ == "__main__":
    main()
