"""``python -m benchmarks.jupyter_routes``: a view's round trip over each of its three routes.

A view reaches the chat straight at the embedded server's port, through the Jupyter route
(``<base_url>talkex/``, the server extension) or through the comm relay (the kernel). This
starts a JupyterLab with the extension in temp dirs, a kernel that runs a ``ChatWidget`` (so
the embedded server starts in it), and times a Phoenix heartbeat and its reply over each route,
with the kernel idle and then busy in a cell. A busy kernel holds the relay's frames until the
cell ends: that row is the time the first reply took, not a round trip.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.blocking import BlockingKernelClient
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.notebook.conftest import Lab, running_lab

__all__ = ["main"]

ROUNDS = 200
BUSY_SECONDS = 8


def start_kernel(lab: Lab) -> BlockingKernelClient:
    """A new kernel in ``lab`` (no notebook), with a client ready to run code in it."""
    kernel = lab.api("POST", "/api/kernels", {"name": "python3"})
    client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(60)
    return client


async def socket_round_trips(url: str, headers: dict[str, str], rounds: int) -> list[float]:
    """Milliseconds from each heartbeat sent to its reply, one at a time."""
    ws = await websocket_connect(HTTPRequest(url, headers=headers))
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        await ws.write_message(json.dumps([None, str(i), "phoenix", "heartbeat", {}]))
        while True:
            message = await ws.read_message()
            assert message is not None, "the socket closed"
            if json.loads(message)[1] == str(i):
                break
        times.append((time.perf_counter() - start) * 1000)
    ws.close()
    return times


class Relay:
    """Plays a widget view on the kernel's comm: relay frames to the server and back."""

    def __init__(self, client: BlockingKernelClient, comm_id: str, url: str) -> None:
        self.client, self.comm_id, self.url = client, comm_id, url

    def _say(self, content: dict[str, Any]) -> None:
        data = {"comm_id": self.comm_id, "data": {"method": "custom", "content": content}}
        self.client.shell_channel.send(self.client.session.msg("comm_msg", data))

    def _hear(self, match: Callable[[dict[str, Any]], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.client.get_iopub_msg(timeout=timeout)
            if msg["msg_type"] == "comm_msg" and match(msg["content"]["data"].get("content", {})):
                return
        raise TimeoutError("the kernel did not answer")

    def round_trips(self, rounds: int) -> list[float]:
        """Milliseconds per heartbeat; the first includes opening the relay."""
        times = []
        start = time.perf_counter()
        self._say({"kind": "relay_open", "view": "bench", "conn": 1, "url": self.url})
        self._hear(lambda c: c.get("kind") == "relay_opened")
        for i in range(rounds):
            frame = json.dumps([None, f"r{i}", "phoenix", "heartbeat", {}])
            self._say({"kind": "relay_send", "view": "bench", "conn": 1, "data": frame})
            self._hear(
                lambda c, i=i: (
                    c.get("kind") == "relay_message" and json.loads(c["data"])[1] == f"r{i}"
                )
            )
            times.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
        self._say({"kind": "relay_close", "view": "bench", "conn": 1, "code": 1000, "reason": ""})
        return times


def row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"| {name} | {len(times)} | {statistics.median(times):.2f} | {p95:.2f} |"


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="talkex-routes-") as tmp,
        running_lab(Path(tmp)) as lab,
    ):
        client = start_kernel(lab)
        try:
            printed: list[str] = []
            client.execute_interactive(
                "from talkex_widget import ChatWidget\n"
                "w = ChatWidget(room='bench', nickname='bench')\n"
                "print(w.comm.comm_id)",
                output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
                timeout=60,
            )
            server = json.loads((lab.runtime / "talkex-server.json").read_text())
            direct = (
                f"{server['url'].replace('http', 'ws', 1)}socket/websocket"
                f"?vsn=2.0.0&nickname=bench&token={server['token']}"
            )
            route = (
                f"{lab.url.replace('http', 'ws', 1)}/talkex/socket/websocket"
                "?vsn=2.0.0&nickname=bench"
            )
            cookie = {"Cookie": lab.login_cookie()}
            relay = Relay(client, "".join(printed).strip(), direct)
            print("| route, kernel | heartbeats | median ms | p95 ms |")
            print("| --- | ---: | ---: | ---: |")
            print(row("direct, idle", asyncio.run(socket_round_trips(direct, {}, ROUNDS))))
            print(
                row("Jupyter route, idle", asyncio.run(socket_round_trips(route, cookie, ROUNDS)))
            )
            print(row("comm relay, idle", relay.round_trips(ROUNDS)[1:]))
            client.execute(f"import time; time.sleep({BUSY_SECONDS})")
            time.sleep(0.5)  # the cell has started
            print(row("direct, busy", asyncio.run(socket_round_trips(direct, {}, ROUNDS))))
            print(
                row("Jupyter route, busy", asyncio.run(socket_round_trips(route, cookie, ROUNDS)))
            )
            print(
                row(f"comm relay, busy ({BUSY_SECONDS} s cell): first reply", relay.round_trips(1))
            )
        finally:
            client.stop_channels()


if __name__ == "__main__":
    main()
