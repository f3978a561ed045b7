// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AWAY_AFTER_MS, AutoAway, startAutoAway } from "../src/lib/autoaway.js";

const MINUTE = 60 * 1000;

/** A status holder with the parts of ChatSession that auto-away uses. */
function fakeSession(status = "online") {
  const listeners = new Set();
  const session = {
    state: { status },
    changes: [],
    getSnapshot: () => session.state,
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setStatus: (next) => {
      if (next === session.state.status) return;
      session.state = { ...session.state, status: next };
      session.changes.push(next);
      for (const listener of listeners) listener(session.state);
    },
  };
  return session;
}

function autoAway(session) {
  return new AutoAway({
    getStatus: () => session.getSnapshot().status,
    setStatus: (status) => session.setStatus(status),
  });
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("AutoAway", () => {
  it("waits ten minutes, then sets an online person away", () => {
    expect(AWAY_AFTER_MS).toBe(10 * MINUTE);
    const session = fakeSession();
    autoAway(session);
    vi.advanceTimersByTime(10 * MINUTE - 1);
    expect(session.changes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(session.changes).toEqual(["away"]);
  });

  it("counts the ten minutes from the last activity", () => {
    const session = fakeSession();
    const auto = autoAway(session);
    vi.advanceTimersByTime(7 * MINUTE);
    auto.activity();
    vi.advanceTimersByTime(9 * MINUTE);
    auto.activity();
    vi.advanceTimersByTime(10 * MINUTE - 1);
    expect(session.changes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(session.changes).toEqual(["away"]);
  });

  it("brings the person back on activity, and goes away again after the next idle stretch", () => {
    const session = fakeSession();
    const auto = autoAway(session);
    vi.advanceTimersByTime(10 * MINUTE);
    auto.activity();
    expect(session.changes).toEqual(["away", "online"]);
    vi.advanceTimersByTime(10 * MINUTE);
    expect(session.changes).toEqual(["away", "online", "away"]);
  });

  it("never lifts an away the person chose", () => {
    const session = fakeSession();
    const auto = autoAway(session);
    session.setStatus("away");
    vi.advanceTimersByTime(30 * MINUTE);
    auto.activity();
    expect(session.state.status).toBe("away");
    expect(session.changes).toEqual(["away"]);
  });

  it("leaves a busy person busy", () => {
    const session = fakeSession("busy");
    const auto = autoAway(session);
    vi.advanceTimersByTime(30 * MINUTE);
    auto.activity();
    expect(session.changes).toEqual([]);
  });

  it("when the person chose another status while auto-away, keeps that one", () => {
    const session = fakeSession();
    const auto = autoAway(session);
    vi.advanceTimersByTime(10 * MINUTE);
    session.setStatus("busy");
    auto.sync();
    session.setStatus("away"); // chosen now: it is theirs, not ours
    auto.sync();
    auto.activity();
    expect(session.changes).toEqual(["away", "busy", "away"]);
  });

  it("goes away when 'online' comes back while nobody is there", () => {
    const session = fakeSession("busy");
    const auto = autoAway(session);
    vi.advanceTimersByTime(12 * MINUTE);
    session.setStatus("online"); // e.g. set from the kernel
    auto.sync();
    expect(session.changes).toEqual(["online", "away"]);
  });

  it("does nothing once stopped", () => {
    const session = fakeSession();
    autoAway(session).stop();
    vi.advanceTimersByTime(30 * MINUTE);
    expect(session.changes).toEqual([]);
  });
});

describe("startAutoAway", () => {
  it("watches the page for activity and the session for status changes", () => {
    const session = fakeSession();
    const stop = startAutoAway(session, window);
    vi.advanceTimersByTime(10 * MINUTE);
    expect(session.changes).toEqual(["away"]);
    window.dispatchEvent(new Event("keydown"));
    expect(session.changes).toEqual(["away", "online"]);

    vi.advanceTimersByTime(5 * MINUTE);
    document.body.dispatchEvent(new Event("pointermove", { bubbles: true }));
    vi.advanceTimersByTime(9 * MINUTE);
    expect(session.changes).toEqual(["away", "online"]);
    vi.advanceTimersByTime(1 * MINUTE);
    expect(session.changes).toEqual(["away", "online", "away"]);

    // A status set elsewhere is seen through the session's updates.
    session.setStatus("busy");
    session.setStatus("online");
    expect(session.changes).toEqual(["away", "online", "away", "busy", "online", "away"]);

    stop();
    window.dispatchEvent(new Event("keydown"));
    vi.advanceTimersByTime(30 * MINUTE);
    expect(session.state.status).toBe("away");
  });
});
