"""The baseline: a plain Tornado WebSocket broadcast loop speaking just enough Phoenix V2.

What anyone would write first: encode the broadcast once, then ``write_message`` it to every
member. No history, no presence, no limits, so the comparison flatters the baseline.
Run as its own process: ``python -m benchmarks.plain_server --port 0`` (prints its URL).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
from datetime import datetime, timezone
from typing import Any, ClassVar

import orjson
import tornado.web
import tornado.websocket

__all__ = ["Healthz", "PlainSocket", "main"]

_ids = itertools.count(1)


class PlainSocket(tornado.websocket.WebSocketHandler):
    members: ClassVar[set[PlainSocket]] = set()

    def check_origin(self, origin: str) -> bool:
        return True

    def on_message(self, message: str | bytes) -> None:
        join_ref, ref, topic, event, payload = orjson.loads(message)
        if event == "phx_join":
            self.members.add(self)
            self.reply(join_ref, ref, topic, {"messages": [], "has_more": False})
        elif event == "new_msg":
            wire = {
                "id": next(_ids),
                "body": payload["body"],
                "author": self.get_query_argument("nickname", ""),
                "sent_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            }
            text = orjson.dumps([None, None, topic, "new_msg", wire]).decode()
            for member in tuple(self.members):
                member.write_message(text)
            self.reply(join_ref, ref, topic, {"id": wire["id"]})
        else:  # heartbeat, leave: an ok reply is all a client waits for
            self.reply(join_ref, ref, topic, {})

    def reply(self, join_ref: Any, ref: Any, topic: str, response: dict[str, Any]) -> None:
        self.write_message(
            orjson.dumps(
                [join_ref, ref, topic, "phx_reply", {"status": "ok", "response": response}]
            ).decode()
        )

    def on_close(self) -> None:
        self.members.discard(self)


class Healthz(tornado.web.RequestHandler):
    """Answers once the loop serves: how :mod:`tests.processes` knows the server started."""

    def get(self) -> None:
        self.write({"status": "ok"})


async def serve(port: int) -> None:
    app = tornado.web.Application([(r"/socket/websocket", PlainSocket), (r"/healthz", Healthz)])
    server = app.listen(port, "127.0.0.1")
    bound = next(iter(server._sockets.values())).getsockname()[1]
    print(f"plain broadcast loop serving on http://127.0.0.1:{bound}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4001)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
