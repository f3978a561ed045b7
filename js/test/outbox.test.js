// The outbox on its own: a fake session (state + update) and a fake channel whose pushes the
// test answers by hand, so every path of a push (ok, refused, rate-limited, timed out, a late
// answer to an older push) is driven one step at a time. The session tests cover the same
// rules end to end against a Phoenix server.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_RETRY_AFTER_S, Outbox } from "../src/lib/outbox.js";

/** A phoenix Push stand-in: records its callbacks; `answer(status, reply)` calls them. */
class FakePush {
  constructor(event, payload) {
    this.event = event;
    this.payload = payload;
    this.callbacks = {};
  }

  receive(status, callback) {
    this.callbacks[status] = callback;
    return this;
  }

  answer(status, reply) {
    this.callbacks[status]?.(reply);
  }
}

function fakeSession({ joined = true, maxBody = 20 } = {}) {
  const pushes = [];
  const session = {
    nickname: "alice",
    state: { pending: [], messages: [], joined, maxBody, error: null },
    channel: {
      push: (event, payload) => {
        const push = new FakePush(event, payload);
        pushes.push(push);
        return push;
      },
    },
    update(patch) {
      session.state = { ...session.state, ...patch };
    },
  };
  return { session, pushes, outbox: new Outbox(session) };
}

describe("Outbox", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("refuses an empty or too long body and queues nothing", () => {
    const { session, outbox, pushes } = fakeSession({ maxBody: 5 });
    expect(outbox.send("  ")).toBe("message is empty");
    expect(outbox.send("123456")).toBe("message is too long (6 characters, limit 5)");
    expect(session.state.pending).toEqual([]);
    expect(pushes).toEqual([]);
  });

  it("pushes a message at once when joined and shows it with its id on the ok reply", () => {
    const { session, outbox, pushes } = fakeSession();
    expect(outbox.send(" hi \n")).toBeNull();
    const [item] = session.state.pending;
    expect(item).toMatchObject({ body: "hi", author: "alice", state: "sending", error: null });
    expect(pushes).toHaveLength(1);
    expect(pushes[0].event).toBe("new_msg");
    expect(pushes[0].payload).toEqual({ body: "hi", client_id: item.client_id });
    expect(outbox.inFlight.get(item.client_id)).toBe(pushes[0]);

    pushes[0].answer("ok", { id: 7 });
    expect(session.state.pending).toEqual([]);
    expect(session.state.messages).toEqual([
      { id: 7, body: "hi", author: "alice", sent_at: item.sent_at, client_id: item.client_id, provisional: true },
    ]);
    expect(outbox.inFlight.size).toBe(0);
  });

  it("an ok reply without an id only settles the message", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("hi");
    pushes[0].answer("ok", {});
    expect(session.state.pending).toEqual([]);
    expect(session.state.messages).toEqual([]);
  });

  it("waits while not joined and pushes what is still sending on resend", () => {
    const { session, outbox, pushes } = fakeSession({ joined: false });
    outbox.send("one");
    outbox.send("two");
    expect(pushes).toEqual([]);
    outbox.updatePending(session.state.pending[1].client_id, { state: "failed" });
    session.state.joined = true;
    outbox.resend();
    expect(pushes.map((p) => p.payload.body)).toEqual(["one"]);
  });

  it("pushes again with the same client_id after a timeout while joined, not after leaving", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("are you there?");
    pushes[0].answer("timeout");
    expect(pushes).toHaveLength(2);
    expect(pushes[1].payload.client_id).toBe(pushes[0].payload.client_id);

    session.state.joined = false;
    pushes[1].answer("timeout");
    expect(pushes).toHaveLength(2); // the rejoin will push it
    expect(session.state.pending[0].state).toBe("sending");
  });

  it("ignores the late answer of an older push of the same message", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("hello");
    outbox.resend(); // a rejoin pushed it again before the first answer came
    expect(pushes).toHaveLength(2);
    pushes[0].answer("error", { reason: "stale" });
    pushes[0].answer("timeout");
    expect(session.state.pending[0]).toMatchObject({ state: "sending", error: null });
    expect(session.state.error).toBeNull();
    expect(pushes).toHaveLength(2);
  });

  it("keeps a rate-limited message sending and pushes it again after retry_after", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("patience");
    pushes[0].answer("error", { reason: "you are sending too fast", retry_after: 2 });
    expect(session.state.pending[0].state).toBe("sending");
    expect(session.state.error).toBe("you are sending too fast");
    vi.advanceTimersByTime(2000);
    expect(pushes).toHaveLength(1);
    vi.advanceTimersByTime(10);
    expect(pushes).toHaveLength(2);
    expect(pushes[1].payload.client_id).toBe(pushes[0].payload.client_id);
  });

  it("waits at most MAX_RETRY_AFTER_S, and not at all for a message discarded meanwhile", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("slow");
    pushes[0].answer("error", { reason: "later", retry_after: 3600 });
    vi.advanceTimersByTime(MAX_RETRY_AFTER_S * 1000 + 10);
    expect(pushes).toHaveLength(2);

    pushes[1].answer("error", { reason: "later", retry_after: 1 });
    outbox.discard(session.state.pending[0].client_id);
    vi.advanceTimersByTime(2000);
    expect(pushes).toHaveLength(2);
    expect(session.state.pending).toEqual([]);
  });

  it("marks a refused message failed with the reason; retry sends it again, discard drops it", () => {
    const { session, outbox, pushes } = fakeSession();
    outbox.send("spam");
    pushes[0].answer("error", { reason: "nope" });
    const failed = session.state.pending[0];
    expect(failed).toMatchObject({ state: "failed", error: "nope" });
    expect(session.state.error).toBe("nope");

    outbox.retry("no such id");
    expect(pushes).toHaveLength(1);
    outbox.retry(failed.client_id);
    expect(session.state.pending[0]).toMatchObject({ state: "sending", error: null });
    expect(pushes[1].payload.client_id).toBe(failed.client_id);
    outbox.retry(failed.client_id); // already sending: no second push
    expect(pushes).toHaveLength(2);

    pushes[1].answer("error", {});
    expect(session.state.pending[0]).toMatchObject({ state: "failed", error: "message was not accepted" });
    outbox.discard(failed.client_id);
    expect(session.state.pending).toEqual([]);
    expect(outbox.inFlight.size).toBe(0);
  });

  it("pushes nothing without a channel (before connecting)", () => {
    const { session, outbox, pushes } = fakeSession();
    session.channel = null;
    expect(outbox.send("early")).toBeNull();
    expect(pushes).toEqual([]);
    expect(session.state.pending[0].state).toBe("sending");
  });
});
