// A minimal Phoenix Channels V2 server for testing the client logic in Node: joins with
// history and last_seen_id, new_msg (deduplicated by client_id, like the real server),
// new_status, history, presence_state/presence_diff. Knobs let a test lose replies, refuse
// joins or sockets, or drop connections. The real server is tested against phoenix.js by
// conformance/phoenix_conformance.mjs.
import { WebSocketServer } from "ws";

export async function startFakePhoenix() {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    // Refused handshakes: the socket never opens, as when nothing serves the port any more.
    verifyClient: () => !server.refuseSockets,
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  const server = {
    url: `ws://127.0.0.1:${wss.address().port}/socket`,
    messages: [],
    frames: [], // every frame received, decoded
    joins: [], // join payloads in order
    refuseJoin: null, // a reason to refuse joins with
    limits: null, // told in join replies (`limits`), as the real server does; null: not told
    ignoreNewMsg: false, // neither store nor reply: the push times out
    rejectNewMsg: null, // a reason to refuse new_msg with
    throttleNewMsg: 0, // how many new_msg to refuse with a retry_after, like a rate limit
    refuseSockets: false, // answer every WebSocket handshake with an HTTP error
    sockets: new Set(),
    refSeq: 0,
    nextId: 1,
  };

  const send = (ws, frame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  const broadcast = (topic, event, payload) => {
    for (const ws of server.sockets) {
      if (ws.topics.has(topic)) send(ws, [ws.topics.get(topic), null, topic, event, payload]);
    }
  };
  const presenceState = (topic) => {
    const state = {};
    for (const ws of server.sockets) {
      const p = ws.presence.get(topic);
      if (!p) continue;
      state[ws.nickname] ??= { metas: [] };
      state[ws.nickname].metas.push(p);
    }
    return state;
  };

  wss.on("connection", (ws, request) => {
    const params = new URL(request.url, "http://x").searchParams;
    ws.nickname = params.get("nickname");
    ws.topics = new Map();
    ws.presence = new Map();
    server.sockets.add(ws);
    ws.on("close", () => {
      server.sockets.delete(ws);
      for (const [topic, meta] of ws.presence) {
        broadcast(topic, "presence_diff", { joins: {}, leaves: { [ws.nickname]: { metas: [meta] } } });
      }
    });
    ws.on("message", (raw) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(String(raw));
      server.frames.push({ joinRef, ref, topic, event, payload, nickname: ws.nickname });
      const reply = (status, response = {}) =>
        send(ws, [joinRef, ref, topic, "phx_reply", { status, response }]);
      if (topic === "phoenix" && event === "heartbeat") return reply("ok");
      if (event === "phx_join") {
        server.joins.push(payload);
        if (server.refuseJoin) return reply("error", { reason: server.refuseJoin });
        ws.topics.set(topic, joinRef);
        const since = payload.last_seen_id;
        const messages =
          since == null ? server.messages.slice(-3) : server.messages.filter((m) => m.id > since);
        const response = { messages, has_more: since == null && server.messages.length > 3 };
        if (server.limits) response.limits = server.limits;
        reply("ok", response);
        send(ws, [joinRef, null, topic, "presence_state", presenceState(topic)]);
        const meta = { status: payload.status || "online", online_at: new Date().toISOString(), phx_ref: `r${++server.refSeq}` };
        ws.presence.set(topic, meta);
        broadcast(topic, "presence_diff", { joins: { [ws.nickname]: { metas: [meta] } }, leaves: {} });
        return undefined;
      }
      if (event === "phx_leave") {
        const meta = ws.presence.get(topic);
        ws.topics.delete(topic);
        ws.presence.delete(topic);
        reply("ok");
        if (meta) broadcast(topic, "presence_diff", { joins: {}, leaves: { [ws.nickname]: { metas: [meta] } } });
        return undefined;
      }
      if (event === "new_msg") {
        if (server.ignoreNewMsg) return undefined;
        if (server.rejectNewMsg) return reply("error", { reason: server.rejectNewMsg });
        if (server.throttleNewMsg > 0) {
          server.throttleNewMsg -= 1;
          return reply("error", { reason: "you are sending too fast", retry_after: 0.05 });
        }
        let stored = server.messages.find((m) => m.client_id && m.client_id === payload.client_id);
        if (!stored) {
          stored = {
            id: server.nextId++,
            body: payload.body,
            author: ws.nickname,
            sent_at: new Date().toISOString(),
            client_id: payload.client_id,
          };
          server.messages.push(stored);
          broadcast(topic, "new_msg", stored);
        }
        return reply("ok", { id: stored.id });
      }
      if (event === "new_status") {
        const old = ws.presence.get(topic);
        const meta = { ...old, status: payload.status, phx_ref: `r${++server.refSeq}`, phx_ref_prev: old.phx_ref };
        ws.presence.set(topic, meta);
        reply("ok");
        broadcast(topic, "presence_diff", {
          joins: { [ws.nickname]: { metas: [meta] } },
          leaves: { [ws.nickname]: { metas: [old] } },
        });
        return undefined;
      }
      if (event === "history") {
        const older = server.messages.filter((m) => m.id < payload.before_id);
        const page = older.slice(-payload.limit);
        return reply("ok", { messages: page, has_more: older.length > page.length });
      }
      return reply("error", { reason: `unknown event ${event}` });
    });
  });

  server.addMessage = (author, body) => {
    const message = { id: server.nextId++, body, author, sent_at: new Date().toISOString() };
    server.messages.push(message);
    return message;
  };
  server.dropConnections = () => {
    for (const ws of server.sockets) ws.terminate();
  };
  server.close = () =>
    new Promise((resolve) => {
      for (const ws of server.sockets) ws.terminate();
      wss.close(() => resolve());
    });
  return server;
}

/** Resolves once `predicate()` is truthy (polling), or rejects after `timeoutMs`. */
export async function waitFor(predicate, { timeoutMs = 4000, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
