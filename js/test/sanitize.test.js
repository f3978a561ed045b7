import { describe, expect, it } from "vitest";
import { displayName } from "../src/lib/sanitize.js";

describe("displayName", () => {
  it("leaves ordinary names alone", () => {
    expect(displayName("alice")).toBe("alice");
    expect(displayName("Zoë Ünal")).toBe("Zoë Ünal");
    expect(displayName("مريم")).toBe("مريم");
  });

  it("makes bidi overrides and zero-width characters visible", () => {
    expect(displayName("ali\u202ecE")).toBe("ali\\u{202E}cE");
    expect(displayName("bob\u200b")).toBe("bob\\u{200B}");
    expect(displayName("a\u200db")).toBe("a\\u{200D}b");
    expect(displayName("\u2066x\u2069")).toBe("\\u{2066}x\\u{2069}");
    expect(displayName("a\u00a0b")).toBe("a\\u{00A0}b");
    expect(displayName("a\u0000b\u001b")).toBe("a\\u{0000}b\\u{001B}");
    expect(displayName("x\u{E0041}")).toBe("x\\u{E0041}"); // tag character
  });

  it("copes with missing names", () => {
    expect(displayName(undefined)).toBe("");
  });
});
