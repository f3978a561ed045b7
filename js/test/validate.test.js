import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_BODY,
  bodyError,
  codePointLength,
  isStatus,
  maxBodyFrom,
  nicknameError,
  normalizeNickname,
  pyStrip,
  roomError,
} from "../src/lib/validate.js";

describe("roomError", () => {
  it("accepts letters, digits, '_', '.', '-' up to 64 characters", () => {
    expect(roomError("lobby")).toBeNull();
    expect(roomError("Team_1.data-science")).toBeNull();
    expect(roomError("a".repeat(64))).toBeNull();
  });

  it("refuses empty, too long and other characters with the server's reasons", () => {
    expect(roomError("")).toBe("room name must not be empty");
    expect(roomError("a".repeat(65))).toBe("room name must be at most 64 characters");
    for (const bad of ["with space", "slash/room", "émoji", "tab\t", "colon:x", "lobby\u202e"]) {
      expect(roomError(bad)).toBe("room name may only use letters, digits, '-', '_' and '.'");
    }
  });
});

describe("nicknameError", () => {
  it("accepts printable names up to 32 code points after stripping", () => {
    expect(nicknameError("alice")).toBeNull();
    expect(nicknameError("  Zoë Ünal  ")).toBeNull();
    expect(nicknameError("李小龍")).toBeNull();
    expect(nicknameError("😀".repeat(32))).toBeNull(); // 64 UTF-16 units, 32 code points
    expect(normalizeNickname("  bob \n")).toBe("bob");
  });

  it("refuses empty and too long names", () => {
    expect(nicknameError("")).toBe("nickname must not be empty");
    expect(nicknameError("   \t")).toBe("nickname must not be empty");
    expect(nicknameError("x".repeat(33))).toBe("nickname must be at most 32 characters");
    expect(nicknameError(undefined)).toBe("nickname is required");
  });

  it("refuses control and invisible formatting characters", () => {
    const reason = "nickname may not contain control or invisible formatting characters";
    for (const bad of [
      "ali\u202ece", // right-to-left override
      "bob\u200b", // zero-width space (not stripped: it is not whitespace)
      "a\u200db", // zero-width joiner
      "\u2066bob\u2069", // isolates
      "bo\u0000b",
      "bo\u0007b",
      "a\u00a0b", // no-break space: a separator, not printable for Python
      "\ufeffbob", // BOM: JS trim() would strip it, Python keeps and refuses it
    ]) {
      expect(nicknameError(bad), JSON.stringify(bad)).toBe(reason);
    }
  });
});

describe("helpers", () => {
  it("pyStrip strips what Python's str.strip strips", () => {
    expect(pyStrip("\u001c x \u0085")).toBe("x");
    expect(pyStrip("\ufeffx")).toBe("\ufeffx");
    expect(pyStrip("\n\n  code\n    indented\n\n")).toBe("code\n    indented");
  });

  it("codePointLength counts code points", () => {
    expect(codePointLength("abc")).toBe(3);
    expect(codePointLength("😀😀")).toBe(2);
  });

  it("bodyError applies the limit it is given after stripping", () => {
    expect(bodyError("hi", 4000)).toBeNull();
    expect(bodyError("   \n ", 4000)).toBe("message is empty");
    expect(bodyError(`  ${"x".repeat(4000)}  `, 4000)).toBeNull();
    expect(bodyError("x".repeat(4001), 4000)).toBe("message is too long (4001 characters, limit 4000)");
    expect(bodyError("x".repeat(11), 10)).toBe("message is too long (11 characters, limit 10)");
    expect(bodyError("😀".repeat(10), 10)).toBeNull(); // code points, as the server counts
  });

  it("maxBodyFrom takes the join reply's limits.max_body, else keeps the current limit", () => {
    expect(DEFAULT_MAX_BODY).toBe(4000); // the server's default, until a reply says otherwise
    expect(maxBodyFrom({ limits: { max_body: 200, max_activity: 64 } }, DEFAULT_MAX_BODY)).toBe(200);
    expect(maxBodyFrom({ limits: { max_body: 9000 } }, 200)).toBe(9000);
    for (const reply of [undefined, null, {}, { limits: null }, { limits: {} }]) {
      expect(maxBodyFrom(reply, 200)).toBe(200); // an older server: the last limit told stays
    }
    for (const bad of [0, -5, 1.5, "300", null, Number.NaN]) {
      expect(maxBodyFrom({ limits: { max_body: bad } }, 200)).toBe(200);
    }
  });

  it("isStatus knows online, away and busy", () => {
    expect(["online", "away", "busy"].every(isStatus)).toBe(true);
    expect(isStatus("gone")).toBe(false);
  });
});
