import { describe, expect, it, vi } from "vitest";
import { TYPING_TTL, TypingTracker, shouldSendTyping, typingText } from "../src/lib/typing.js";

describe("typingText", () => {
  it("names up to three people, then counts the others", () => {
    expect(typingText([])).toBe("");
    expect(typingText(["ann"])).toBe("ann is typing…");
    expect(typingText(["ann", "bob"])).toBe("ann and bob are typing…");
    expect(typingText(["ann", "bob", "cy"])).toBe("ann, bob and cy are typing…");
    expect(typingText(["ann", "bob", "cy", "dee"])).toBe("ann, bob and 2 others are typing…");
  });
});

describe("TypingTracker", () => {
  it("shows names until TYPING_TTL after their last event, never ourselves", () => {
    vi.useFakeTimers();
    try {
      const seen = [];
      const tracker = new TypingTracker("me", (names) => seen.push(names));
      tracker.typing(["bob", "me"]);
      vi.advanceTimersByTime(3000);
      tracker.typing(["ann"]);
      expect(seen.at(-1)).toEqual(["ann", "bob"]);
      vi.advanceTimersByTime(TYPING_TTL - 3000 + 10);
      expect(seen.at(-1)).toEqual(["ann"]);
      tracker.stopped("ann"); // their message arrived
      expect(seen.at(-1)).toEqual([]);
      tracker.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("ignores malformed events", () => {
    const seen = [];
    const tracker = new TypingTracker("me", (names) => seen.push(names));
    tracker.typing(null);
    tracker.typing([1, {}]);
    expect(seen).toEqual([]);
    tracker.stop();
  });
});

describe("shouldSendTyping", () => {
  it("sends at most once per interval", () => {
    expect(shouldSendTyping(null, 0)).toBe(true);
    expect(shouldSendTyping(1000, 3999)).toBe(false);
    expect(shouldSendTyping(1000, 4000)).toBe(true);
  });
});
