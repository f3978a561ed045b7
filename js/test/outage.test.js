// The host-gone timer with fake timers: when it tells, what restarts it, what stops it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HOST_GONE_AFTER_MS, OutageWatch } from "../src/lib/outage.js";

function watch() {
  const calls = [];
  return { calls, outage: new OutageWatch((gone) => calls.push(gone)) };
}

describe("OutageWatch", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("tells once the connection stays lost for HOST_GONE_AFTER_MS from the first loss", () => {
    const { calls, outage } = watch();
    outage.lost();
    vi.advanceTimersByTime(HOST_GONE_AFTER_MS / 2);
    outage.lost(); // a failed retry does not restart the count
    vi.advanceTimersByTime(HOST_GONE_AFTER_MS / 2 - 1);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([true]);
    outage.lost(); // more failed retries while gone: nothing new
    vi.advanceTimersByTime(3 * HOST_GONE_AFTER_MS);
    expect(calls).toEqual([true]);
  });

  it("takes it back when the connection is back, and counts afresh at the next loss", () => {
    const { calls, outage } = watch();
    outage.lost();
    vi.advanceTimersByTime(HOST_GONE_AFTER_MS);
    outage.back();
    expect(calls).toEqual([true, false]);
    outage.back();
    expect(calls).toEqual([true, false]);
    outage.lost();
    vi.advanceTimersByTime(HOST_GONE_AFTER_MS - 1);
    expect(calls).toEqual([true, false]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([true, false, true]);
  });

  it("says nothing about a loss shorter than HOST_GONE_AFTER_MS", () => {
    const { calls, outage } = watch();
    outage.lost();
    vi.advanceTimersByTime(HOST_GONE_AFTER_MS - 1);
    outage.back();
    vi.advanceTimersByTime(2 * HOST_GONE_AFTER_MS);
    expect(calls).toEqual([]);
  });

  it("says nothing after stop, whatever the closing socket reports", () => {
    const { calls, outage } = watch();
    outage.lost();
    outage.stop();
    outage.lost();
    vi.advanceTimersByTime(2 * HOST_GONE_AFTER_MS);
    outage.back();
    expect(calls).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("takes its delay from the constructor", () => {
    const calls = [];
    const outage = new OutageWatch((gone) => calls.push(gone), 200);
    outage.lost();
    vi.advanceTimersByTime(200);
    expect(calls).toEqual([true]);
  });
});
