import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatTime } from "../src/lib/time.js";

describe("formatTime", () => {
  let saved;
  beforeEach(() => {
    saved = process.env.TZ;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it("shows the reader's local HH:MM for a UTC timestamp", () => {
    process.env.TZ = "Asia/Kolkata"; // UTC+05:30
    expect(formatTime("2024-03-01T10:00:00.000Z")).toBe("15:30");
    expect(formatTime("2024-03-01T20:45:10Z")).toBe("02:15");
    process.env.TZ = "America/New_York"; // UTC-05:00 in March before DST
    expect(formatTime("2024-03-01T10:07:00.000Z")).toBe("05:07");
    process.env.TZ = "UTC";
    expect(formatTime("2024-03-01T09:05:00.000+00:00")).toBe("09:05");
  });

  it("pads to two digits and returns '' for bad input", () => {
    process.env.TZ = "UTC";
    expect(formatTime("2024-01-01T00:00:00Z")).toBe("00:00");
    expect(formatTime("not a date")).toBe("");
    expect(formatTime(null)).toBe("");
  });
});
