#!/usr/bin/env node
// Conformance of a Talkex server with the stock phoenix.js client (npm "phoenix" over "ws").
//
//   node js/conformance/phoenix_conformance.mjs [BASE_URL] [TOKEN] [--room ROOM] [--timeout SECONDS]
//
// BASE_URL defaults to $TALKEX_URL (e.g. http://127.0.0.1:4000; ws:// works too), TOKEN to
// $TALKEX_TOKEN (may be empty). Steps: alice and bob join room:lobby; both Presences list both
// online; alice's new_msg gets an ok reply with an id and both receive the broadcast; history
// returns it; bob's new_status away shows in alice's Presence; bob leaves and alice's Presence
// drops him.
//
// Prints exactly one JSON line on stdout:
//   {"ok": true, "steps": [{"step": "join", "ok": true, "ms": 12, ...}, ...]}
// and exits 0; on failure {"ok": false, "error": "...", "failed_step": "...", "steps": [...]}
// and exits 1 (2 on timeout, 3 on bad usage). Diagnostics go to stderr.
import { Presence, Socket } from "phoenix";
import WebSocket from "ws";

function parseArgs(argv) {
  const options = { url: process.env.TALKEX_URL || "", token: process.env.TALKEX_TOKEN || "", room: "lobby", timeout: 15 };
  const positional = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--room") options.room = argv[++i];
    else if (arg === "--timeout") options.timeout = Number(argv[++i]);
    else if (arg === "--help" || arg === "-h") options.help = true;
    else positional.push(arg);
  }
  if (positional[0]) options.url = positional[0];
  if (positional[1] !== undefined) options.token = positional[1];
  return options;
}

/** http://host:port[/prefix] -> ws://host:port[/prefix]/socket */
function endPoint(base) {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  const path = url.pathname.replace(/\/+$/, "").replace(/\/socket$/, "");
  return `${url.protocol}//${url.host}${path}/socket`;
}

const options = parseArgs(process.argv.slice(2));
if (options.help || !options.url) {
  process.stderr.write("usage: phoenix_conformance.mjs BASE_URL [TOKEN] [--room ROOM] [--timeout SECONDS]\n");
  process.stdout.write(`${JSON.stringify({ ok: false, error: "no server URL given", steps: [] })}\n`);
  process.exit(3);
}

const steps = [];
const sockets = [];
let current = "setup";
let finished = false;
const started = Date.now();

function finish(code, extra) {
  if (finished) return;
  finished = true;
  for (const socket of sockets) {
    try {
      socket.disconnect();
    } catch {
      // already gone
    }
  }
  process.stdout.write(`${JSON.stringify({ ok: code === 0, steps, ...extra })}\n`);
  process.exitCode = code;
  // Give ws a moment to send the close frames, then leave whatever is still pending.
  setTimeout(() => process.exit(code), 200).unref();
}

const timer = setTimeout(() => {
  finish(2, { error: `timeout after ${options.timeout} s during step ${current}`, failed_step: current });
}, options.timeout * 1000);

/** Runs one step, recording its duration and details. */
async function step(name, run) {
  current = name;
  const t0 = Date.now();
  process.stderr.write(`step ${name}...\n`);
  const detail = (await run()) || {};
  steps.push({ step: name, ok: true, ms: Date.now() - t0, ...detail });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Resolves when `predicate()` holds, re-checked on every call of the returned `poke`. */
function until(predicate) {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  const poke = () => {
    const value = predicate();
    if (value) resolve(value);
  };
  return { promise, poke };
}

/** Awaits a push's reply: resolves on ok, rejects on error or timeout. */
function reply(push, what) {
  return new Promise((resolve, reject) => {
    push
      .receive("ok", resolve)
      .receive("error", (response) => reject(new Error(`${what} refused: ${JSON.stringify(response)}`)))
      .receive("timeout", () => reject(new Error(`${what}: no reply`)));
  });
}

function connect(nickname) {
  const params = { nickname };
  if (options.token) params.token = options.token;
  const socket = new Socket(endPoint(options.url), {
    transport: WebSocket,
    params,
    reconnectAfterMs: () => 100000,
    rejoinAfterMs: () => 100000,
    timeout: 5000,
  });
  let opened = false;
  socket.onOpen(() => {
    opened = true;
  });
  socket.onError((error) => {
    process.stderr.write(`${nickname}: socket error ${error?.message || ""}\n`);
    // A socket that never opened was refused (bad token, nickname or vsn) or cannot connect.
    if (!opened) fail(new Error(`${nickname}'s socket could not open (refused or unreachable)`));
  });
  sockets.push(socket);
  const channel = socket.channel(`room:${options.room}`, {});
  const presence = new Presence(channel);
  const client = { nickname, socket, channel, presence, messages: [], watchers: new Set() };
  const notify = () => client.watchers.forEach((poke) => poke());
  presence.onSync(notify);
  channel.on("new_msg", (message) => {
    client.messages.push(message);
    notify();
  });
  return client;
}

/** Waits until `predicate(client)` holds, checking on presence syncs and broadcasts. */
function waitOn(client, predicate) {
  const { promise, poke } = until(() => predicate(client));
  client.watchers.add(poke);
  poke();
  return promise.finally(() => client.watchers.delete(poke));
}

const metasOf = (client, name) => {
  const entry = client.presence.list((key, { metas }) => ({ key, metas })).find((e) => e.key === name);
  return entry ? entry.metas : [];
};
const statusOf = (client, name) => metasOf(client, name).at(-1)?.status;

async function main() {
  const alice = connect("alice");
  const bob = connect("bob");

  await step("join", async () => {
    const replies = await Promise.all(
      [alice, bob].map((client) => {
        const push = client.channel.join();
        client.socket.connect();
        return reply(push, `${client.nickname}'s join`);
      }),
    );
    for (const response of replies) {
      check(Array.isArray(response?.messages), "join reply has no messages list");
      check(typeof response.has_more === "boolean", "join reply has no boolean has_more");
    }
    return { history: replies.map((r) => r.messages.length) };
  });

  await step("presence_sync", async () => {
    const bothOnline = (client) =>
      ["alice", "bob"].every((name) => {
        const metas = metasOf(client, name);
        return metas.length > 0 && metas.every((m) => m.status === "online" && m.phx_ref && m.online_at);
      });
    await Promise.all([waitOn(alice, bothOnline), waitOn(bob, bothOnline)]);
    const meta = metasOf(alice, "bob")[0];
    check(!Number.isNaN(Date.parse(meta.online_at)), `online_at is not ISO 8601: ${meta.online_at}`);
    return { alice_sees: alice.presence.list((key) => key).sort(), bob_sees: bob.presence.list((key) => key).sort() };
  });

  let sent;
  await step("new_msg", async () => {
    const clientId = `conformance-${process.pid}-${Date.now()}`;
    const body = `hello from alice ${clientId}`;
    const response = await reply(alice.channel.push("new_msg", { body, client_id: clientId }), "new_msg");
    check(Number.isInteger(response?.id), `new_msg reply has no integer id: ${JSON.stringify(response)}`);
    const match = (client) => client.messages.find((m) => m.id === response.id);
    const [forAlice, forBob] = await Promise.all([waitOn(alice, match), waitOn(bob, match)]);
    for (const message of [forAlice, forBob]) {
      check(message.body === body, `broadcast body differs: ${JSON.stringify(message.body)}`);
      check(message.author === "alice", `broadcast author is ${JSON.stringify(message.author)}`);
      check(message.client_id === clientId, "broadcast does not carry the client_id");
      check(/Z$|[+-]00:?00$/.test(message.sent_at) && !Number.isNaN(Date.parse(message.sent_at)), `sent_at is not ISO 8601 UTC: ${message.sent_at}`);
    }
    sent = forBob;
    return { id: response.id, sent_at: forBob.sent_at };
  });

  await step("history", async () => {
    const response = await reply(alice.channel.push("history", { before_id: sent.id + 1, limit: 10 }), "history");
    check(Array.isArray(response?.messages), "history reply has no messages list");
    check(typeof response.has_more === "boolean", "history reply has no boolean has_more");
    check(response.messages.some((m) => m.id === sent.id), "history does not return the message just sent");
    const ids = response.messages.map((m) => m.id);
    check(ids.every((id, i) => i === 0 || id > ids[i - 1]), `history ids are not increasing: ${ids}`);
    return { count: response.messages.length, has_more: response.has_more };
  });

  await step("new_status", async () => {
    await reply(bob.channel.push("new_status", { status: "away" }), "new_status");
    await waitOn(alice, (client) => statusOf(client, "bob") === "away" && metasOf(client, "bob").length === 1);
    return { bob_in_alice_presence: statusOf(alice, "bob") };
  });

  await step("leave", async () => {
    await reply(bob.channel.leave(), "bob's leave");
    await waitOn(alice, (client) => metasOf(client, "bob").length === 0 && metasOf(client, "alice").length === 1);
    return { alice_sees: alice.presence.list((key) => key) };
  });
}

function fail(error) {
  clearTimeout(timer);
  finish(1, { error: error?.message || String(error), failed_step: current });
}

main().then(() => {
  clearTimeout(timer);
  finish(0, { ms: Date.now() - started });
}, fail);
