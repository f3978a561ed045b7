import { describe, expect, it } from "vitest";
import {
  displayItems,
  groupMessages,
  itemKey,
  lastSeenId,
  mergeMessages,
  oldestId,
  settlePending,
} from "../src/lib/messages.js";

const msg = (id, author = "alice", extra = {}) => ({
  id,
  author,
  body: `message ${id}`,
  sent_at: `2024-03-01T10:${String(id).padStart(2, "0")}:00.000Z`,
  ...extra,
});

describe("mergeMessages", () => {
  it("deduplicates by id and sorts by id", () => {
    const merged = mergeMessages([msg(3), msg(1)].sort((a, b) => a.id - b.id), [msg(2), msg(3), msg(1)]);
    expect(merged.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it("prepends older history", () => {
    const merged = mergeMessages([msg(10), msg(11)], [msg(8), msg(9)]);
    expect(merged.map((m) => m.id)).toEqual([8, 9, 10, 11]);
  });

  it("returns the same array when nothing is new", () => {
    const list = [msg(1), msg(2)];
    expect(mergeMessages(list, [])).toBe(list);
    expect(mergeMessages(list, [list[0]])).toBe(list);
  });

  it("lets the server's copy replace a provisional one, never the other way round", () => {
    const provisional = msg(5, "me", { provisional: true, sent_at: "2024-03-01T10:00:00.000Z" });
    const server = msg(5, "me", { sent_at: "2024-03-01T10:00:01.000Z" });
    expect(mergeMessages([provisional], [server])[0]).toBe(server);
    expect(mergeMessages([server], [provisional])[0]).toBe(server);
  });

  it("keeps a held message over an older copy of it (a lower seq)", () => {
    const edited = msg(5, "ann", { body: "hello", edited_at: "2024-03-01T10:06:00.000Z", seq: 9 });
    const posted = msg(5, "ann", { body: "helo", seq: 5 });
    expect(mergeMessages([edited], [posted])).toEqual([edited]);
    expect(mergeMessages([posted], [edited])).toEqual([edited]);
  });

  it("ignores entries without an integer id", () => {
    expect(mergeMessages([], [{ body: "x" }, null, msg(1)]).map((m) => m.id)).toEqual([1]);
  });
});

describe("ids", () => {
  it("lastSeenId is the highest confirmed id, ignoring provisional ones", () => {
    expect(lastSeenId([])).toBeNull();
    expect(lastSeenId([msg(1), msg(4), msg(9, "me", { provisional: true })])).toBe(4);
  });

  it("oldestId is the lowest id shown", () => {
    expect(oldestId([])).toBeNull();
    expect(oldestId([msg(7), msg(3), msg(5)])).toBe(3);
  });
});

describe("pending messages", () => {
  const pending = [
    { client_id: "c1", body: "one", author: "me", state: "sending" },
    { client_id: "c2", body: "two", author: "me", state: "failed", error: "you are sending too fast" },
  ];

  it("are settled by a message of ours with the same client_id", () => {
    const left = settlePending(pending, [msg(1, "me", { client_id: "c1" })], "me");
    expect(left.map((p) => p.client_id)).toEqual(["c2"]);
  });

  it("are not settled by someone else reusing our client_id", () => {
    expect(settlePending(pending, [msg(1, "mallory", { client_id: "c1" })], "me")).toBe(pending);
  });

  it("are shown after the confirmed messages", () => {
    const items = displayItems([msg(1)], pending);
    expect(items.map((i) => i.client_id ?? i.id)).toEqual([1, "c1", "c2"]);
  });

  it("keep their key once confirmed", () => {
    expect(itemKey(pending[0], "me")).toBe("c:c1");
    expect(itemKey(msg(3, "me", { client_id: "c1" }), "me")).toBe("c:c1");
    expect(itemKey(msg(3, "bob", { client_id: "c9" }), "me")).toBe("m:3");
    expect(itemKey(msg(4, "me"), "me")).toBe("m:4");
  });
});

describe("groupMessages", () => {
  it("groups consecutive messages of one author", () => {
    const groups = groupMessages([msg(1), msg(2), msg(3, "bob"), msg(4), msg(5)], "bob");
    expect(groups.map((g) => [g.author, g.own, g.items.map((i) => i.id)])).toEqual([
      ["alice", false, [1, 2]],
      ["bob", true, [3]],
      ["alice", false, [4, 5]],
    ]);
  });

  it("starts a new group after a long pause", () => {
    const a = msg(1, "alice", { sent_at: "2024-03-01T10:00:00Z" });
    const b = msg(2, "alice", { sent_at: "2024-03-01T10:04:00Z" });
    const c = msg(3, "alice", { sent_at: "2024-03-01T10:20:00Z" });
    expect(groupMessages([a, b, c], "me").map((g) => g.items.length)).toEqual([2, 1]);
  });

  it("puts our pending messages in our group", () => {
    const items = displayItems([msg(1, "me")], [{ client_id: "c1", author: "me", body: "x", sent_at: msg(2).sent_at, state: "sending" }]);
    const groups = groupMessages(items, "me");
    expect(groups).toHaveLength(1);
    expect(groups[0].own).toBe(true);
    expect(groups[0].items).toHaveLength(2);
  });

  it("returns no group for no message", () => {
    expect(groupMessages([], "me")).toEqual([]);
  });
});
