import { describe, expect, it } from "vitest";
import { AVATAR_COLOURS, avatarColour, initials } from "../src/lib/avatar.js";

describe("initials", () => {
  it("takes the first letter of the first two words", () => {
    expect(initials("ann lee")).toBe("AL");
    expect(initials("bob")).toBe("B");
    expect(initials("data_team.eu")).toBe("DT");
    expect(initials("jean-luc picard")).toBe("JL");
    expect(initials("zoë ünal")).toBe("ZÜ");
    expect(initials("مريم")).toBe("م");
  });

  it("skips punctuation and symbols, and falls back to '?'", () => {
    expect(initials("(ann)")).toBe("A");
    expect(initials("<img src=x>")).toBe("IS");
    expect(initials("42")).toBe("4");
    expect(initials("***")).toBe("?");
    expect(initials("")).toBe("?");
  });
});

describe("avatarColour", () => {
  it("is stable: the same name always gets the same colour", () => {
    expect(avatarColour("alice")).toBe(avatarColour("alice"));
    // Pinned: a change of hash would recolour everyone people know.
    expect(["alice", "bob", "ann lee", "zoë"].map(avatarColour)).toEqual([11, 8, 6, 3]);
  });

  it("spreads names over every colour", () => {
    const seen = new Set();
    for (let i = 0; i < 200; i += 1) {
      const colour = avatarColour(`user${i}`);
      expect(colour).toBeGreaterThanOrEqual(0);
      expect(colour).toBeLessThan(AVATAR_COLOURS);
      seen.add(colour);
    }
    expect(seen.size).toBe(AVATAR_COLOURS);
  });
});
