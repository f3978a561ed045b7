import { describe, expect, it } from "vitest";
import {
  applyMention,
  isMention,
  mentionCandidates,
  mentionQuery,
  mentionsName,
  recentAuthors,
} from "../src/lib/mentions.js";
import { firstMarker, firstUnreadId, unreadCounts, unreadText, unreadTitle } from "../src/lib/unread.js";

const msg = (id, author, body = "hi") => ({ id, author, body, sent_at: "2026-01-01T00:00:00Z" });

describe("mentionsName", () => {
  it("finds @name as a whole name, case-insensitively", () => {
    expect(mentionsName("hi @ann", "ann")).toBe(true);
    expect(mentionsName("@Ann: look", "ann")).toBe(true);
    expect(mentionsName("thanks @ann.", "ann")).toBe(true);
    expect(mentionsName("(@ann)", "ann")).toBe(true);
    expect(mentionsName("hi @anna", "ann")).toBe(false);
    expect(mentionsName("mail ann@ann.org", "ann")).toBe(false);
    expect(mentionsName("hi ann", "ann")).toBe(false);
    expect(mentionsName("@ann.smith", "ann")).toBe(false);
    expect(mentionsName("ping @ann.smith", "ann.smith")).toBe(true);
    expect(mentionsName(null, "ann")).toBe(false);
  });

  it("is a mention only when someone else wrote it", () => {
    expect(isMention(msg(1, "bob", "@ann"), "ann")).toBe(true);
    expect(isMention(msg(1, "ann", "@ann"), "ann")).toBe(false);
  });
});

describe("the @ autocomplete", () => {
  it("finds the query before the caret", () => {
    expect(mentionQuery("hi @an", 6)).toEqual({ start: 3, query: "an" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail a@b", 8)).toBeNull();
    expect(mentionQuery("no at", 5)).toBeNull();
    expect(mentionQuery("@ann\nnext", 9)).toBeNull();
  });

  it("offers people present then recent authors, prefix matches first, never ourselves", () => {
    const names = mentionCandidates({
      present: ["bob", "ann", "me"],
      authors: ["dan", "bob", "joanne"],
      query: "an",
      self: "me",
    });
    expect(names).toEqual(["ann", "dan", "joanne"]);
    expect(mentionCandidates({ present: ["me", "bob"], query: "", self: "me" })).toEqual(["bob"]);
  });

  it("lists recent authors newest first and inserts the name", () => {
    expect(recentAuthors([msg(1, "a"), msg(2, "b"), msg(3, "a")])).toEqual(["a", "b"]);
    expect(applyMention("hi @an", 3, 6, "ann")).toEqual({ text: "hi @ann ", caret: 8 });
    expect(applyMention("hi @an there", 3, 6, "ann")).toEqual({ text: "hi @ann there", caret: 8 });
  });
});

describe("unread", () => {
  const messages = [msg(1, "bob"), msg(2, "me"), msg(3, "bob", "@me look"), msg(4, "cy")];

  it("counts others' messages after the read position, and mentions of us", () => {
    expect(unreadCounts(messages, 1, "me")).toEqual({ unread: 2, mentions: 1, more: false });
    expect(unreadCounts(messages, 4, "me")).toEqual({ unread: 0, mentions: 0, more: false });
    expect(unreadCounts(messages, null, "me")).toEqual({ unread: 0, mentions: 0, more: false });
  });

  it("says the counts are a floor when unread messages are older than the loaded page", () => {
    expect(unreadCounts(messages, 0, "me", true).more).toBe(false); // nothing missing after 0
    const page = messages.map((m) => ({ ...m, id: m.id + 10 }));
    const counts = unreadCounts(page, 3, "me", true);
    expect(counts).toEqual({ unread: 3, mentions: 1, more: true });
    expect(unreadText(counts)).toBe("3+ unread · 1+ mention");
    expect(unreadTitle("#lobby · Talkex", counts)).toBe("(3+ · @1+) #lobby · Talkex");
    expect(unreadCounts(page, 3, "me", false).more).toBe(false);
  });

  it("puts the line above the first of others' messages after the marker", () => {
    expect(firstUnreadId(messages, 1, "me")).toBe(3);
    expect(firstUnreadId(messages, 4, "me")).toBeNull();
    expect(firstUnreadId(messages, null, "me")).toBeNull();
  });

  it("starts a newcomer who sees the room with no line, and a hidden one at the top", () => {
    expect(firstMarker(2, messages, true)).toBe(2);
    expect(firstMarker(0, messages, true)).toBe(4);
    expect(firstMarker(0, messages, false)).toBe(0);
    expect(firstMarker(0, [], true)).toBe(0);
  });

  it("says it in the header and the title", () => {
    expect(unreadText({ unread: 0, mentions: 0 })).toBe("");
    expect(unreadText({ unread: 3, mentions: 1 })).toBe("3 unread · 1 mention");
    expect(unreadTitle("#lobby · Talkex", { unread: 3, mentions: 0 })).toBe("(3) #lobby · Talkex");
    expect(unreadTitle("#lobby · Talkex", { unread: 3, mentions: 2 })).toBe("(3 · @2) #lobby · Talkex");
  });
});

describe("ReadThrottle", () => {
  it("pushes the first mark at once, then the latest once per interval", async () => {
    const { vi } = await import("vitest");
    const { READ_PUSH_INTERVAL, ReadThrottle } = await import("../src/lib/unread.js");
    vi.useFakeTimers();
    try {
      const sent = [];
      const reads = new ReadThrottle((id) => sent.push(id));
      reads.mark(3);
      reads.mark(4);
      reads.mark(6);
      reads.mark(5);
      expect(sent).toEqual([3]);
      vi.advanceTimersByTime(READ_PUSH_INTERVAL);
      expect(sent).toEqual([3, 6]);
      vi.advanceTimersByTime(READ_PUSH_INTERVAL * 2);
      reads.mark(6); // nothing new
      reads.mark(7);
      expect(sent).toEqual([3, 6, 7]);
      reads.mark(8);
      reads.stop();
      vi.advanceTimersByTime(READ_PUSH_INTERVAL);
      expect(sent).toEqual([3, 6, 7]);
    } finally {
      vi.useRealTimers();
    }
  });
});
