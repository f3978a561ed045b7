import { describe, expect, it } from "vitest";
import { splitFences } from "../src/lib/body.js";

describe("splitFences", () => {
  it("keeps plain bodies whole", () => {
    expect(splitFences("hello <b>there</b>")).toEqual([{ kind: "text", text: "hello <b>there</b>" }]);
  });

  it("cuts fenced blocks out of prose, language tag dropped", () => {
    expect(splitFences("look:\n```text\n   a  b\n0  1  2\n```\nnice")).toEqual([
      { kind: "text", text: "look:\n" },
      { kind: "code", text: "   a  b\n0  1  2" },
      { kind: "text", text: "\nnice" },
    ]);
  });

  it("leaves an unclosed fence as prose", () => {
    expect(splitFences("```\nnot closed")).toEqual([{ kind: "text", text: "```\nnot closed" }]);
  });
});
