import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTransports, READY } from "../src/lib/transport.js";
import { FakeWebSocket } from "./helpers/fake_websocket.js";
import { socketEndPoint } from "../src/lib/urls.js";


let kernel;
let modes;

function setup(options = {}) {
  kernel = [];
  modes = [];
  return createTransports({
    view: "v1",
    send: (msg) => kernel.push(msg),
    WebSocketImpl: FakeWebSocket,
    openTimeoutMs: 3000,
    onMode: (mode) => modes.push(mode),
    ...options,
  });
}

function watch(transport) {
  const events = [];
  transport.onopen = () => events.push("open");
  transport.onmessage = (event) => events.push(`message:${event.data}`);
  transport.onerror = () => events.push("error");
  transport.onclose = (event) => events.push(`close:${event.code}`);
  return events;
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("AutoTransport", () => {
  it("uses the direct WebSocket when it opens", () => {
    const { Transport } = setup();
    const t = new Transport("ws://h/socket/websocket?vsn=2.0.0");
    const events = watch(t);
    expect(t.readyState).toBe(READY.CONNECTING);
    FakeWebSocket.instances[0].open();
    expect(t.readyState).toBe(READY.OPEN);
    expect(events).toEqual(["open"]);
    expect(modes).toEqual(["websocket"]);
    t.send("frame");
    expect(FakeWebSocket.instances[0].sent).toEqual(["frame"]);
    FakeWebSocket.instances[0].onmessage({ data: "in" });
    expect(events).toEqual(["open", "message:in"]);
    expect(kernel).toEqual([]);
  });

  it("falls back to the relay when the WebSocket errors before opening", () => {
    const transports = setup();
    const t = new transports.Transport("ws://h/socket/websocket?vsn=2.0.0");
    const events = watch(t);
    FakeWebSocket.instances[0].fail();
    expect(events).toEqual([]); // phoenix does not see the failed attempt
    expect(t.readyState).toBe(READY.CONNECTING);
    expect(modes).toEqual(["relay"]);
    expect(kernel).toEqual([{ kind: "relay_open", view: "v1", conn: 1, url: "ws://h/socket/websocket?vsn=2.0.0" }]);

    expect(transports.handle({ kind: "relay_opened", view: "v1" })).toBe(true);
    expect(t.readyState).toBe(READY.OPEN);
    t.send('[null,"1","phoenix","heartbeat",{}]');
    expect(kernel[1]).toEqual({ kind: "relay_send", view: "v1", conn: 1, data: '[null,"1","phoenix","heartbeat",{}]' });
    transports.handle({ kind: "relay_message", view: "v1", data: "reply" });
    expect(events).toEqual(["open", "message:reply"]);

    transports.handle({ kind: "relay_closed", view: "v1", code: 1011, reason: "server gone" });
    expect(t.readyState).toBe(READY.CLOSED);
    expect(events).toEqual(["open", "message:reply", "close:1011"]);

    // Later connections go straight to the relay.
    new transports.Transport("ws://h/socket/websocket?vsn=2.0.0");
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(kernel.at(-1)).toMatchObject({ kind: "relay_open", conn: 2 });
  });

  it("falls back to the relay when the WebSocket does not open within the timeout", () => {
    const transports = setup();
    const t = new transports.Transport("ws://h/x");
    watch(t);
    vi.advanceTimersByTime(2999);
    expect(kernel).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(FakeWebSocket.instances[0].readyState).toBe(READY.CLOSED);
    expect(kernel[0]).toMatchObject({ kind: "relay_open" });
    expect(transports.mode).toBe("relay");
  });

  it("falls back when the WebSocket cannot even be constructed", () => {
    class Throwing {
      constructor() {
        throw new Error("SecurityError");
      }
    }
    const transports = setup({ WebSocketImpl: Throwing });
    new transports.Transport("ws://h/x");
    expect(kernel[0]).toMatchObject({ kind: "relay_open", view: "v1" });
  });

  it("reports a relay that could not open as error then close", () => {
    const transports = setup({ WebSocketImpl: null });
    const t = new transports.Transport("ws://h/x");
    const events = watch(t);
    transports.handle({ kind: "relay_closed", view: "v1", code: 1006, reason: "refused" });
    expect(events).toEqual(["error", "close:1006"]);
  });

  it("ignores messages for other views and routes by conn when the kernel echoes it", () => {
    const transports = setup({ WebSocketImpl: null });
    const first = new transports.Transport("ws://h/x");
    const second = new transports.Transport("ws://h/x");
    const firstEvents = watch(first);
    const secondEvents = watch(second);
    expect(transports.handle({ kind: "relay_opened", view: "other" })).toBe(false);
    expect(transports.handle({ kind: "config", view: "v1" })).toBe(false);
    transports.handle({ kind: "relay_opened", view: "v1", conn: 1 });
    expect(firstEvents).toEqual(["open"]);
    expect(secondEvents).toEqual([]);
    transports.handle({ kind: "relay_opened", view: "v1" }); // no conn: the newest
    expect(secondEvents).toEqual(["open"]);
  });

  it("closes the relay on request, telling the kernel", () => {
    const transports = setup({ WebSocketImpl: null });
    const t = new transports.Transport("ws://h/x");
    const events = watch(t);
    transports.handle({ kind: "relay_opened", view: "v1" });
    t.close(1000, "bye");
    expect(t.readyState).toBe(READY.CLOSED);
    expect(kernel.at(-1)).toEqual({ kind: "relay_close", view: "v1", conn: 1, code: 1000, reason: "bye" });
    vi.runAllTimers();
    expect(events).toEqual(["open", "close:1000"]);
    expect(() => t.send("x")).toThrow();
  });

  it("closing a direct attempt does not fall back", () => {
    const transports = setup();
    const t = new transports.Transport("ws://h/x");
    const events = watch(t);
    t.close();
    vi.runAllTimers();
    expect(kernel).toEqual([]);
    expect(events).toEqual(["close:1000"]);
  });
});

describe("socketEndPoint", () => {
  it("derives the ws URL from the server URL", () => {
    expect(socketEndPoint("http://127.0.0.1:4000")).toBe("ws://127.0.0.1:4000/socket");
    expect(socketEndPoint("https://chat.example.org/talkex/")).toBe("wss://chat.example.org/talkex/socket");
    expect(socketEndPoint("/proxy/4000", "https://hub.example.org/user/x/lab")).toBe("wss://hub.example.org/proxy/4000/socket");
  });
});
