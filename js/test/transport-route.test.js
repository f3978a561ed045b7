// The Jupyter route in the transport order: direct, then the route, then the comm relay.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createTransports, READY } from "../src/lib/transport.js";
import { FakeWebSocket } from "./helpers/fake_websocket.js";


const DIRECT = "ws://127.0.0.1:4000/socket/websocket?vsn=2.0.0";
const ROUTE = "ws://lab/talkex/socket/websocket?vsn=2.0.0";
let kernel;
let modes;

function setup(routeUrl = () => ROUTE) {
  kernel = [];
  modes = [];
  return createTransports({
    view: "v1",
    send: (msg) => kernel.push(msg),
    WebSocketImpl: FakeWebSocket,
    routeUrl,
    onMode: (mode) => modes.push(mode),
  });
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the Jupyter route", () => {
  it("is tried when the direct socket cannot open, before the relay", () => {
    const transports = setup();
    const t = new transports.Transport(DIRECT);
    const opened = vi.fn();
    t.onopen = opened;
    FakeWebSocket.instances[0].fail();
    expect(FakeWebSocket.instances.map((ws) => ws.url)).toEqual([DIRECT, ROUTE]);
    FakeWebSocket.instances[1].open();
    expect(opened).toHaveBeenCalledOnce();
    expect(modes).toEqual(["route"]);
    expect(kernel).toEqual([]);
    t.send("frame");
    expect(FakeWebSocket.instances[1].sent).toEqual(["frame"]);
    // Later connections start with the route.
    new transports.Transport(DIRECT);
    expect(FakeWebSocket.instances[2].url).toBe(ROUTE);
  });

  it("falls back to the relay when the route does not open either", () => {
    const transports = setup();
    new transports.Transport(DIRECT);
    FakeWebSocket.instances[0].fail();
    vi.advanceTimersByTime(3001);
    expect(FakeWebSocket.instances[1].readyState).toBe(READY.CLOSED);
    expect(kernel[0]).toMatchObject({ kind: "relay_open", url: DIRECT });
    expect(modes).toEqual(["relay"]);
  });

  it("is skipped where there is none (no extension)", () => {
    const transports = setup(() => null);
    new transports.Transport(DIRECT);
    FakeWebSocket.instances[0].fail();
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(kernel[0]).toMatchObject({ kind: "relay_open" });
  });
});
