// phoenix.js over the comm relay: a stand-in kernel relays frames between the transport and
// the fake server, as the widget's kernel side does with the real one.
import { afterEach, expect, it } from "vitest";
import WebSocket from "ws";
import { ChatSession } from "../src/lib/session.js";
import { createTransports } from "../src/lib/transport.js";
import { startFakePhoenix, waitFor } from "./helpers/fake_phoenix.js";

let server;
let session;

afterEach(async () => {
  session?.disconnect();
  await server?.close();
});

function fakeKernel(deliver) {
  const upstream = new Map();
  const log = [];
  const handle = (msg) => {
    log.push(msg.kind);
    const { view, conn } = msg;
    if (msg.kind === "relay_open") {
      const ws = new WebSocket(msg.url);
      upstream.set(conn, ws);
      ws.on("open", () => deliver({ kind: "relay_opened", view }));
      ws.on("message", (data) => deliver({ kind: "relay_message", view, data: String(data) }));
      ws.on("close", (code, reason) => {
        if (upstream.get(conn) === ws) deliver({ kind: "relay_closed", view, code, reason: String(reason) });
      });
      ws.on("error", () => {});
    } else if (msg.kind === "relay_send") {
      upstream.get(conn)?.send(msg.data);
    } else if (msg.kind === "relay_close") {
      const ws = upstream.get(conn);
      upstream.delete(conn);
      ws?.close();
    }
  };
  return { handle, log };
}

it("joins, sends and receives through the relay", async () => {
  server = await startFakePhoenix();
  server.addMessage("bob", "hi from history");
  let transports;
  // Kernel -> view messages arrive asynchronously, like comm messages.
  const kernel = fakeKernel((msg) => setTimeout(() => transports.handle(msg), 0));
  transports = createTransports({
    view: "view-1",
    send: (msg) => setTimeout(() => kernel.handle(msg), 0),
    WebSocketImpl: null,
  });
  session = new ChatSession({
    room: "lobby",
    nickname: "alice",
    endPoint: server.url,
    params: { token: "t" },
    socketOptions: { transport: transports.Transport, reconnectAfterMs: () => 50, rejoinAfterMs: () => 50 },
  });
  session.connect();
  await waitFor(() => session.getSnapshot().joined, { what: "join over relay" });
  expect(transports.mode).toBe("relay");
  expect(session.getSnapshot().messages.map((m) => m.body)).toEqual(["hi from history"]);
  session.send("over the comm");
  await waitFor(() => session.getSnapshot().messages.some((m) => m.body === "over the comm" && !m.provisional), {
    what: "broadcast over relay",
  });
  await waitFor(() => session.getSnapshot().presence.length === 1, { what: "presence" });

  // The server drops us: the relay reports the close and phoenix reconnects through it.
  server.dropConnections();
  await waitFor(() => session.getSnapshot().connection === "reconnecting", { what: "reconnecting" });
  await waitFor(() => session.getSnapshot().joined, { what: "rejoin over relay" });
  expect(server.joins.at(-1)).toEqual({ last_seen_id: 2 });
  expect(kernel.log.filter((k) => k === "relay_open").length).toBe(2);
});
