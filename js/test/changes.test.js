import { describe, expect, it } from "vitest";
import { REACTIONS, SeqTracker, applyChanges, mayChange, reactionSummary } from "../src/lib/changes.js";

const msg = (id, extra = {}) => ({ id, body: `m${id}`, author: "ann", sent_at: "2026-11-29T15:40:01Z", ...extra });

describe("applyChanges", () => {
  it("replaces a held message by a newer state and ignores an older one", () => {
    const held = [msg(1, { seq: 1 }), msg(2, { seq: 2 })];
    const edited = applyChanges(held, [msg(1, { body: "edited", seq: 3 })]);
    expect(edited.map((m) => m.body)).toEqual(["edited", "m2"]);
    expect(applyChanges(edited, [msg(1, { seq: 1 })])).toBe(edited);
  });

  it("adds new messages in id order and leaves changes to messages never loaded", () => {
    const held = [msg(5, { seq: 5 }), msg(6, { seq: 6 })];
    const caughtUp = applyChanges(held, [msg(2, { seq: 9 }), msg(8, { seq: 10 }), msg(7, { seq: 11 })]);
    expect(caughtUp.map((m) => m.id)).toEqual([5, 6, 7, 8]);
  });

  it("lets the server's copy replace a provisional one", () => {
    const held = [msg(1, { provisional: true })];
    expect(applyChanges(held, [msg(1, { seq: 4 })])[0].provisional).toBeUndefined();
  });
});

describe("SeqTracker", () => {
  it("advances over contiguous seqs only, and a join reply resets it", () => {
    const seqs = new SeqTracker();
    seqs.saw(3);
    expect(seqs.value).toBe(null);
    seqs.joined(2);
    seqs.saw(4);
    expect(seqs.value).toBe(2);
    seqs.saw(3);
    expect(seqs.value).toBe(4);
    seqs.saw(7);
    seqs.joined(6);
    expect(seqs.value).toBe(7);
  });
});

describe("reactions and permissions", () => {
  it("summarizes reactions in the fixed order with who and whether mine", () => {
    const message = msg(1, { reactions: { "🎉": ["bob"], "👍": ["ann", "cy"] } });
    expect(reactionSummary(message, "ann")).toEqual([
      { emoji: "👍", count: 2, names: ["ann", "cy"], mine: true },
      { emoji: "🎉", count: 1, names: ["bob"], mine: false },
    ]);
    expect(REACTIONS).toHaveLength(6);
  });

  it("offers edit for one's own text, delete for one's own or to a moderator", () => {
    expect(mayChange(msg(1), "ann")).toEqual({ edit: true, delete: true });
    expect(mayChange(msg(1), "bob")).toEqual({ edit: false, delete: false });
    expect(mayChange(msg(1), "bob", true)).toEqual({ edit: false, delete: true });
    expect(mayChange(msg(1, { kind: "table" }), "ann")).toEqual({ edit: false, delete: true });
    expect(mayChange(msg(1, { deleted_at: "x" }), "ann")).toEqual({ edit: false, delete: false });
  });
});
