import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  AVATAR_COLOURS,
  avatarBackground,
  avatarColour,
  avatarSource,
  contrast,
  initials,
  inkFor,
  parseColour,
  profileColour,
} from "../src/lib/avatar.js";

/** The colour and avatar URL cases tests/core/test_profiles.py checks the server against. */
const CATALOGUE = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../tests/core/avatar_catalogue.json"), "utf8"),
);

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

// JupyterLab 4's collaborator colours, light theme then dark (its theme stylesheets).
const JUPYTERLAB_COLOURS = [
  ...["#ffad8e", "#dac83d", "#72dd76", "#00e4d0", "#45d4ff", "#e2b1ff", "#ff9de6"],
  ...["#ad4a00", "#7b6a00", "#007e00", "#008772", "#0079b9", "#8b45c6", "#be208b"],
];

describe("profile colours", () => {
  // Hex colours and JupyterLab's seven collaborator colours, nothing else.
  it.each(CATALOGUE.colour.kept)("keeps %s", (colour) => {
    expect(profileColour(colour)).toBe(colour);
  });

  it.each(CATALOGUE.colour.dropped)("drops %s", (colour) => {
    expect(profileColour(colour)).toBeNull();
  });

  it("falls back to the name's own colour where JupyterLab's variables do not exist", () => {
    expect(avatarBackground("var(--jp-collaborator-color3)")).toBe(
      "var(--jp-collaborator-color3, var(--tx-avatar-bg))",
    );
    expect(avatarBackground("#0e7490")).toBe("#0e7490");
    expect(avatarBackground("expression(alert(1))")).toBeNull();
    expect(avatarBackground(null)).toBeNull();
  });

  it("inks initials black or white, whichever reads at 4.5:1 on every JupyterLab colour", () => {
    for (const colour of JUPYTERLAB_COLOURS) {
      const ink = inkFor(colour);
      expect(contrast(parseColour(colour), parseColour(ink))).toBeGreaterThanOrEqual(4.5);
    }
    expect(inkFor("#ffad8e")).toBe("#000000");
    expect(inkFor("rgb(173, 74, 0)")).toBe("#ffffff");
    expect(inkFor("rgba(0, 121, 185, 1)")).toBe("#ffffff");
    expect(inkFor("transparent")).toBeNull();
  });
});

describe("avatarSource", () => {
  // Pictures load over https or from the page's own origin only.
  it.each(CATALOGUE.avatar_url.kept)("loads %s", (url) => {
    expect(avatarSource(url)).toBe(url);
  });

  it.each(CATALOGUE.avatar_url.dropped)("refuses %s", (url) => {
    expect(avatarSource(url)).toBeNull();
  });
});
