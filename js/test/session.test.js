import { afterEach, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ChatSession } from "../src/lib/session.js";
import { DEFAULT_MAX_BODY } from "../src/lib/validate.js";
import { startFakePhoenix, waitFor } from "./helpers/fake_phoenix.js";

let server;
const sessions = [];

beforeEach(async () => {
  server = await startFakePhoenix();
});

afterEach(async () => {
  while (sessions.length) sessions.pop().disconnect();
  await server.close();
});

function open(nickname, { room = "lobby", host, hostGoneAfterMs, ...options } = {}) {
  const session = new ChatSession({
    room,
    nickname,
    endPoint: server.url,
    params: { token: "t0k" },
    host,
    hostGoneAfterMs,
    socketOptions: {
      transport: WebSocket,
      reconnectAfterMs: () => 50,
      rejoinAfterMs: () => 50,
      timeout: 3000,
      ...options,
    },
  });
  sessions.push(session);
  session.connect();
  return session;
}

const joined = (session) => waitFor(() => session.getSnapshot().joined, { what: "join" });
const framesOf = (event) => server.frames.filter((f) => f.event === event);

describe("ChatSession", () => {
  it("joins, shows the latest history and who is online", async () => {
    for (let i = 1; i <= 5; i += 1) server.addMessage("bob", `old ${i}`);
    const alice = open("  alice ");
    await joined(alice);
    const state = alice.getSnapshot();
    expect(state.connection).toBe("connected");
    expect(state.nickname).toBe("alice");
    expect(state.messages.map((m) => m.body)).toEqual(["old 3", "old 4", "old 5"]);
    expect(state.hasMore).toBe(true);
    expect(server.joins[0]).toEqual({});
    await waitFor(() => alice.getSnapshot().presence.length === 1, { what: "presence" });
    expect(alice.getSnapshot().presence[0]).toMatchObject({ name: "alice", self: true, status: "online", count: 1 });
  });

  it("shows a sent message at once as sending, then exactly once as sent", async () => {
    const alice = open("alice");
    const bob = open("bob");
    await joined(alice);
    await joined(bob);
    expect(alice.send("   ")).toBe("message is empty");
    expect(alice.send("hello bob\n")).toBeNull();
    const pending = alice.getSnapshot().pending;
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ body: "hello bob", state: "sending", author: "alice" });
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "ok reply" });
    await waitFor(() => alice.getSnapshot().messages.some((m) => !m.provisional), { what: "broadcast" });
    await waitFor(() => bob.getSnapshot().messages.length === 1, { what: "bob's copy" });
    expect(alice.getSnapshot().messages).toHaveLength(1);
    expect(alice.getSnapshot().messages[0]).toMatchObject({ id: 1, author: "alice", body: "hello bob" });
    expect(bob.getSnapshot().messages[0].client_id).toBe(pending[0].client_id);
    expect(framesOf("new_msg")[0].payload).toEqual({ body: "hello bob", client_id: pending[0].client_id });
  });

  it("keeps messages written while disconnected and sends them after the rejoin with last_seen_id", async () => {
    server.addMessage("bob", "before");
    const alice = open("alice", { reconnectAfterMs: () => 200 });
    await joined(alice);
    let sentOffline = false;
    const unsubscribe = alice.subscribe((state) => {
      if (!sentOffline && state.connection === "reconnecting") {
        sentOffline = true;
        alice.send("written offline");
      }
    });
    server.dropConnections();
    await waitFor(() => sentOffline, { what: "reconnecting" });
    unsubscribe();
    expect(alice.getSnapshot().pending[0]).toMatchObject({ body: "written offline", state: "sending" });
    server.addMessage("bob", "missed while away");
    await waitFor(() => alice.getSnapshot().connection === "connected" && alice.getSnapshot().joined, { what: "rejoin" });
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "resend" });
    expect(server.joins.at(-1)).toEqual({ last_seen_id: 1 });
    await waitFor(() => alice.getSnapshot().messages.length === 3, { what: "messages" });
    expect(alice.getSnapshot().messages.map((m) => m.body)).toEqual(["before", "missed while away", "written offline"]);
    expect(framesOf("new_msg")).toHaveLength(1);
  });

  it("pushes again with the same client_id when a reply never comes", async () => {
    const alice = open("alice", { timeout: 400 });
    await joined(alice);
    server.ignoreNewMsg = true;
    alice.send("are you there?");
    await waitFor(() => framesOf("new_msg").length === 1, { what: "first push" });
    server.ignoreNewMsg = false;
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "second push", timeoutMs: 3000 });
    const pushes = framesOf("new_msg");
    expect(pushes.length).toBe(2);
    expect(pushes[1].payload.client_id).toBe(pushes[0].payload.client_id);
    expect(server.messages).toHaveLength(1);
  });

  it("keeps a rate-limited message sending and delivers it once after retry_after", async () => {
    const alice = open("alice");
    await joined(alice);
    server.throttleNewMsg = 2;
    alice.send("patience");
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "delivery", timeoutMs: 3000 });
    expect(framesOf("new_msg").length).toBe(3);
    expect(server.messages).toHaveLength(1);
    expect(alice.getSnapshot().messages.map((m) => m.body)).toEqual(["patience"]);
  });

  it("marks a refused message as failed with the reason, and can retry or discard it", async () => {
    const alice = open("alice");
    await joined(alice);
    server.rejectNewMsg = "you are sending too fast";
    alice.send("spam");
    await waitFor(() => alice.getSnapshot().pending[0]?.state === "failed", { what: "failure" });
    const failed = alice.getSnapshot().pending[0];
    expect(failed.error).toBe("you are sending too fast");
    expect(alice.getSnapshot().error).toBe("you are sending too fast");
    alice.dismissError();
    expect(alice.getSnapshot().error).toBeNull();

    server.rejectNewMsg = null;
    alice.retry(failed.client_id);
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "retry" });
    expect(alice.getSnapshot().messages[0].client_id).toBe(failed.client_id);

    server.rejectNewMsg = "nope";
    alice.send("again");
    await waitFor(() => alice.getSnapshot().pending[0]?.state === "failed", { what: "failure" });
    alice.discard(alice.getSnapshot().pending[0].client_id);
    expect(alice.getSnapshot().pending).toEqual([]);
  });

  it("checks messages against the limit of the last join reply", async () => {
    server.limits = { max_body: 10, max_activity: 64 };
    const alice = open("alice");
    expect(alice.getSnapshot().maxBody).toBe(DEFAULT_MAX_BODY); // nothing told yet
    await joined(alice);
    expect(alice.getSnapshot().maxBody).toBe(10);
    expect(alice.send("x".repeat(11))).toBe("message is too long (11 characters, limit 10)");
    expect(alice.send("y".repeat(10))).toBeNull();
    await waitFor(() => alice.getSnapshot().pending.length === 0, { what: "ok reply" });
    expect(framesOf("new_msg").map((f) => f.payload.body)).toEqual(["y".repeat(10)]);

    server.limits = { max_body: 20 }; // restarted with another --max-body
    server.dropConnections();
    await waitFor(() => alice.getSnapshot().maxBody === 20, { what: "rejoin with the new limit" });
    expect(alice.send("x".repeat(11))).toBeNull();

    server.limits = null; // a server too old to tell: the last limit told stays
    const joins = server.joins.length;
    server.dropConnections();
    await waitFor(() => server.joins.length > joins && alice.getSnapshot().joined, { what: "rejoin" });
    expect(alice.getSnapshot().maxBody).toBe(20);
  });

  it("shows the reason of a refused join", async () => {
    server.refuseJoin = "room name may only use letters, digits, '-', '_' and '.'";
    const alice = open("alice");
    await waitFor(() => alice.getSnapshot().joinError, { what: "join error" });
    expect(alice.getSnapshot().joinError).toBe(server.refuseJoin);
    expect(alice.getSnapshot().joined).toBe(false);
  });

  it("loads older messages before the oldest one shown", async () => {
    for (let i = 1; i <= 5; i += 1) server.addMessage("bob", `m${i}`);
    const alice = open("alice");
    await joined(alice);
    alice.loadOlder();
    expect(alice.getSnapshot().loadingOlder).toBe(true);
    await waitFor(() => !alice.getSnapshot().loadingOlder, { what: "history" });
    expect(framesOf("history")[0].payload).toEqual({ before_id: 3, limit: 50 });
    expect(alice.getSnapshot().messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5]);
    expect(alice.getSnapshot().hasMore).toBe(false);
  });

  it("pushes status changes and keeps the status across rejoins", async () => {
    const alice = open("alice");
    const bob = open("bob");
    await joined(alice);
    await joined(bob);
    bob.setStatus("away");
    expect(bob.getSnapshot().status).toBe("away");
    await waitFor(() => framesOf("new_status").length === 1, { what: "new_status push" });
    expect(framesOf("new_status")[0].payload).toEqual({ status: "away" });
    await waitFor(
      () => alice.getSnapshot().presence.find((p) => p.name === "bob")?.status === "away",
      { what: "bob away" },
    );
    server.dropConnections();
    await waitFor(() => server.joins.length >= 4, { what: "rejoins" });
    expect(server.joins.some((j) => j.status === "away")).toBe(true);
  });

  it("says a notebook host is gone once unreachable for a while, and takes it back on reconnect", async () => {
    const hosted = open("alice", { host: "notebook", hostGoneAfterMs: 300 });
    const standalone = open("bob", { hostGoneAfterMs: 300 });
    await joined(hosted);
    await joined(standalone);
    expect(hosted.getSnapshot().hostGone).toBe(false);

    server.refuseSockets = true; // as when the kernel hosting the server has stopped
    server.dropConnections();
    await waitFor(() => hosted.getSnapshot().hostGone, { what: "host gone" });
    expect(hosted.getSnapshot().connection).toBe("reconnecting");
    // Not hosted by a notebook: the same outage stays a plain "reconnecting".
    expect(standalone.getSnapshot()).toMatchObject({ connection: "reconnecting", hostGone: false });
    expect(hosted.send("written while the host is away")).toBeNull();

    server.refuseSockets = false; // another kernel serves again on the same port
    await waitFor(() => hosted.getSnapshot().joined, { what: "rejoin" });
    expect(hosted.getSnapshot().hostGone).toBe(false);
    await waitFor(() => hosted.getSnapshot().pending.length === 0, { what: "delivery" });
    expect(server.messages.map((m) => m.body)).toEqual(["written while the host is away"]);
  });

  it("says a notebook host is gone when the first connection never opens", async () => {
    server.refuseSockets = true;
    const hosted = open("alice", { host: "notebook", hostGoneAfterMs: 300 });
    await waitFor(() => hosted.getSnapshot().hostGone, { what: "host gone" });
    expect(hosted.getSnapshot().connection).toBe("connecting");
    server.refuseSockets = false;
    await waitFor(() => hosted.getSnapshot().joined && !hosted.getSnapshot().hostGone, { what: "join" });
  });

  it("counts a person with two connections once", async () => {
    const tab1 = open("carol");
    const tab2 = open("carol");
    await joined(tab1);
    await joined(tab2);
    await waitFor(() => tab1.getSnapshot().presence[0]?.count === 2, { what: "two metas" });
    expect(tab1.getSnapshot().presence).toHaveLength(1);
    tab2.disconnect();
    await waitFor(() => tab1.getSnapshot().presence[0]?.count === 1, { what: "one meta" });
  });
});
