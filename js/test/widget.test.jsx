// @vitest-environment happy-dom
// The anywidget contract with a fake model: hello/config, the relay fallback, status sync
// both ways, independent views, cleanup.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HOST_GONE_AFTER_MS, HOST_GONE_MESSAGE } from "../src/lib/outage.js";
import widget from "../src/widget.jsx";
import { act } from "./helpers/dom.js";
import { waitFor } from "./helpers/fake_phoenix.js";

/** A WebSocket that can never connect, as when the browser cannot reach the server. */
class UnreachableWebSocket {
  static urls = [];
  constructor(url) {
    UnreachableWebSocket.urls.push(url);
    this.readyState = 0;
    setTimeout(() => {
      this.readyState = 3;
      this.onerror?.({});
      this.onclose?.({ code: 1006 });
    }, 0);
  }
  close() {}
  send() {}
}

function fakeModel(values) {
  const handlers = new Map();
  const model = {
    values: { ...values },
    sent: [],
    saved: 0,
    get: (name) => model.values[name],
    set: (name, value) => {
      model.values[name] = value;
      (handlers.get(`change:${name}`) || []).forEach((h) => h());
    },
    save_changes: () => {
      model.saved += 1;
    },
    send: (msg) => model.sent.push(msg),
    on: (event, handler) => handlers.set(event, [...(handlers.get(event) || []), handler]),
    off: (event, handler) => handlers.set(event, (handlers.get(event) || []).filter((h) => h !== handler)),
    emit: (event, ...args) => act(() => (handlers.get(event) || []).forEach((h) => h(...args))),
    handlerCount: () => [...handlers.values()].reduce((n, list) => n + list.length, 0),
  };
  return model;
}

const settle = () => act(() => new Promise((resolve) => setTimeout(resolve, 20)));
const until = (predicate, what) => act(() => waitFor(predicate, { what }));
/** Like `until`, for what React renders after an await of its own (a fetch): each short act
 * lets React flush, where one long act would hold the render until it ends. */
async function rendered(predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}

let cleanups = [];
beforeEach(() => {
  UnreachableWebSocket.urls = [];
  vi.stubGlobal("WebSocket", UnreachableWebSocket);
});
afterEach(() => {
  cleanups.forEach((cleanup) => act(() => cleanup()));
  cleanups = [];
  vi.useRealTimers();
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

function renderView(model) {
  const el = document.createElement("div");
  document.body.appendChild(el);
  let cleanup;
  act(() => {
    cleanup = widget.render({ model, el });
  });
  cleanups.push(cleanup);
  return { el, cleanup, hello: model.sent.filter((m) => m.kind === "hello").at(-1) };
}

describe("widget", () => {
  it("says hello, waits for its config and falls back to the relay", async () => {
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "http://127.0.0.1:4000" });
    const { el, hello } = renderView(model);
    expect(hello.view).toMatch(/.{8,}/);
    expect(el.querySelector(".talkex").textContent).toContain("Connecting to the kernel");

    model.emit("msg:custom", { kind: "config", view: "someone else", token: "x", server_url: "http://nowhere" });
    await settle();
    expect(UnreachableWebSocket.urls).toEqual([]);

    model.emit("msg:custom", { kind: "config", view: hello.view, token: "s3cret", server_url: "http://127.0.0.1:4000" });
    await until(() => model.sent.some((m) => m.kind === "relay_open"), "relay_open");
    expect(UnreachableWebSocket.urls).toHaveLength(1);
    const url = new URL(UnreachableWebSocket.urls[0]);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe("ws://127.0.0.1:4000/socket/websocket");
    expect(Object.fromEntries(url.searchParams)).toEqual({ nickname: "alice", token: "s3cret", vsn: "2.0.0" });

    const root = el.querySelector(".talkex");
    expect(root.dataset.transport).toBe("relay");
    const open = model.sent.find((m) => m.kind === "relay_open");
    expect(open).toMatchObject({ view: hello.view, url: UnreachableWebSocket.urls[0] });

    // The kernel opens the relay; phoenix's join goes through it.
    model.emit("msg:custom", { kind: "relay_opened", view: hello.view });
    await until(() => model.sent.some((m) => m.kind === "relay_send"), "join over the relay");
    const join = model.sent.find((m) => m.kind === "relay_send" && JSON.parse(m.data)[3] === "phx_join");
    expect(JSON.parse(join.data)).toEqual([expect.any(String), expect.any(String), "room:lobby", "phx_join", {}]);
    expect(root.querySelector('[role="status"]').textContent).toBe("connected");
  });

  it("says so when the notebook hosting its server stays unreachable, until the relay opens", async () => {
    vi.useFakeTimers();
    const wait = (ms) => act(() => vi.advanceTimersByTimeAsync(ms));
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "" });
    const { el, hello } = renderView(model);
    const banner = () => el.querySelector(".tx-host-gone");
    const config = { kind: "config", view: hello.view, token: "t", server_url: "http://127.0.0.1:4000" };

    // A server of `talkex serve` (no host): an outage stays "connecting", however long.
    model.emit("msg:custom", config);
    await wait(3 * HOST_GONE_AFTER_MS);
    expect(el.querySelector('[role="status"]').textContent).toBe("connecting");
    expect(banner()).toBeNull();

    // The same server hosted by a notebook kernel: the view restarts and says so in time.
    model.emit("msg:custom", { ...config, host: "notebook" });
    await wait(HOST_GONE_AFTER_MS - 1);
    expect(banner()).toBeNull();
    await wait(1);
    expect(banner().textContent).toBe(HOST_GONE_MESSAGE);
    expect(el.querySelector('[role="alert"]')).toBeNull();

    // Another kernel serves again and the kernel's relay gets through: the message goes.
    model.emit("msg:custom", { kind: "relay_opened", view: hello.view });
    await wait(10);
    expect(el.querySelector('[role="status"]').textContent).toBe("connected");
    expect(banner()).toBeNull();
  });

  it("on a hub signs the viewer in, then joins as the hub user through the page's origin", async () => {
    const answers = [
      { status: 401, body: { error: "not signed in to the hub" } },
      { status: 200, body: { name: "bob", display_name: "bob", groups: [] } },
    ];
    const fetchMock = vi.fn(async () => {
      const { status, body } = answers.length > 1 ? answers.shift() : answers[0];
      return { status, json: async () => body };
    });
    vi.stubGlobal("fetch", fetchMock);
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "" });
    const { el, hello } = renderView(model);
    model.emit("msg:custom", {
      kind: "config",
      view: hello.view,
      server_url: "http://hub.internal:8000/services/talkex/",
      hub: true,
    });
    await rendered(() => el.querySelector(".tx-signin a"), "the sign-in link");
    const link = el.querySelector(".tx-signin a");
    expect(link.textContent).toBe("Sign in to chat");
    expect(link.getAttribute("href")).toBe("/services/talkex/login?next=%2Fservices%2Ftalkex%2Fsigned-in");
    expect(link.getAttribute("target")).toBe("_blank");
    expect(fetchMock.mock.calls[0][0]).toBe("/services/talkex/api/me");

    await rendered(() => UnreachableWebSocket.urls.length > 0, "the socket");
    const url = new URL(UnreachableWebSocket.urls[0]);
    expect(url.pathname).toBe("/services/talkex/socket/websocket");
    expect(Object.fromEntries(url.searchParams)).toEqual({ nickname: "bob", vsn: "2.0.0" });
    await settle();
    expect(model.sent.some((m) => m.kind === "relay_open")).toBe(false);
  });

  it("syncs the status both ways", async () => {
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "http://h:1" });
    const { el, hello } = renderView(model);
    model.emit("msg:custom", { kind: "config", view: hello.view, token: "t", server_url: "" });
    await until(() => el.querySelector('select[aria-label="Status"]'), "room view");
    const select = el.querySelector('select[aria-label="Status"]');
    act(() => {
      select.value = "busy";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(model.values.status).toBe("busy");
    expect(model.saved).toBe(1);

    act(() => model.set("status", "away"));
    expect(el.querySelector('select[aria-label="Status"]').value).toBe("away");
  });

  it("reconnects when room or nickname change, and shows invalid ones", async () => {
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "http://h:1" });
    const { el, hello } = renderView(model);
    model.emit("msg:custom", { kind: "config", view: hello.view, token: "t", server_url: "http://h:1" });
    await until(() => model.sent.some((m) => m.kind === "relay_open"), "first relay");
    act(() => model.set("room", "other"));
    await until(() => model.sent.filter((m) => m.kind === "relay_open").length === 2, "second relay");
    expect(el.querySelector(".tx-room").dataset.room).toBe("other");
    expect(model.sent.filter((m) => m.kind === "relay_open")).toHaveLength(2);
    act(() => model.set("nickname", "bad\u200bname"));
    expect(el.querySelector('[role="alert"]').textContent).toContain("invisible formatting");
  });

  it("gives each render its own view id and cleans up", async () => {
    const model = fakeModel({ room: "lobby", nickname: "alice", status: "online", server_url: "http://h:1" });
    const a = renderView(model);
    const b = renderView(model);
    expect(a.hello.view).not.toBe(b.hello.view);
    const before = model.handlerCount();
    act(() => a.cleanup());
    cleanups = cleanups.filter((c) => c !== a.cleanup);
    expect(a.el.querySelector(".talkex")).toBeNull();
    expect(model.handlerCount()).toBe(before - 5);
  });
});
