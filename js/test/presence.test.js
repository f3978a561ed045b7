import { Presence } from "phoenix";
import { describe, expect, it } from "vitest";
import { buildPresenceList, shownAs } from "../src/lib/presence.js";

const meta = (ref, status = "online", extra = {}) => ({
  status,
  online_at: "2024-03-01T10:00:00.000Z",
  phx_ref: ref,
  ...extra,
});

const entries = (state) => Presence.list(state, (name, { metas }) => ({ name, metas }));

describe("buildPresenceList", () => {
  it("lists each person once, sorted case-insensitively, with a count of connections", () => {
    const state = Presence.syncState(
      {},
      {
        bob: { metas: [meta("1")] },
        Alice: { metas: [meta("2"), meta("3")] },
        carol: { metas: [meta("4", "busy")] },
        alan: { metas: [meta("5", "away")] },
      },
    );
    const rows = buildPresenceList(entries(state), "bob");
    expect(rows.map((r) => [r.name, r.status, r.count, r.self])).toEqual([
      ["alan", "away", 1, false],
      ["Alice", "online", 2, false],
      ["bob", "online", 1, true],
      ["carol", "busy", 1, false],
    ]);
  });

  it("carries what a busy person is running, and drops it when they are back", () => {
    let state = Presence.syncState({}, { dana: { metas: [meta("1")] } });
    state = Presence.syncDiff(state, {
      joins: { dana: { metas: [meta("2", "busy", { activity: "fit()", phx_ref_prev: "1" })] } },
      leaves: { dana: { metas: [meta("1")] } },
    });
    expect(buildPresenceList(entries(state), "me")[0]).toMatchObject({
      status: "busy",
      activity: "fit()",
    });
    state = Presence.syncDiff(state, {
      joins: { dana: { metas: [meta("3", "online", { phx_ref_prev: "2" })] } },
      leaves: { dana: { metas: [meta("2", "busy", { activity: "fit()" })] } },
    });
    expect(buildPresenceList(entries(state), "me")[0].activity).toBeNull();
  });

  it("shows the most present connection: busy, then online, then away; the latest on a tie", () => {
    let state = Presence.syncState({}, { bob: { metas: [meta("1"), meta("2")] } });
    // bob's second tab goes away (idle): an update is a leave of the old meta and a join of
    // the new. His other tab is still in use, so he is online.
    state = Presence.syncDiff(state, {
      joins: { bob: { metas: [meta("3", "away", { phx_ref_prev: "2" })] } },
      leaves: { bob: { metas: [meta("2")] } },
    });
    let [row] = buildPresenceList(entries(state), "me");
    expect(row).toMatchObject({ name: "bob", status: "online", count: 2 });

    state = Presence.syncDiff(state, {
      joins: { bob: { metas: [meta("4", "busy", { phx_ref_prev: "1", activity: "fit()" })] } },
      leaves: { bob: { metas: [meta("1")] } },
    });
    [row] = buildPresenceList(entries(state), "me");
    expect(row).toMatchObject({ status: "busy", activity: "fit()", count: 2 });

    state = Presence.syncDiff(state, {
      joins: { bob: { metas: [meta("5", "away", { phx_ref_prev: "4" })] } },
      leaves: { bob: { metas: [meta("4", "busy")] } },
    });
    [row] = buildPresenceList(entries(state), "me");
    expect(row).toMatchObject({ status: "away", activity: null, count: 2 });
  });

  it("does not count a kernel's own link as a tab, but shows what it is running", () => {
    const state = Presence.syncState(
      {},
      {
        ann: { metas: [meta("1", "online"), meta("2", "busy", { kind: "kernel", activity: "fit()" })] },
        kai: { metas: [meta("3", "online", { kind: "kernel" })] },
      },
    );
    const rows = buildPresenceList(entries(state), "me");
    expect(rows[0]).toMatchObject({ name: "ann", status: "busy", activity: "fit()", count: 1 });
    expect(rows[1]).toMatchObject({ name: "kai", status: "online", count: 0 });
  });

  it("drops people whose last connection left", () => {
    let state = Presence.syncState({}, { bob: { metas: [meta("1")] }, ann: { metas: [meta("2")] } });
    state = Presence.syncDiff(state, { joins: {}, leaves: { bob: { metas: [meta("1")] } } });
    expect(buildPresenceList(entries(state), "ann").map((r) => r.name)).toEqual(["ann"]);
  });

  it("treats an unknown status as online and keeps the earliest online_at", () => {
    const rows = buildPresenceList(
      [
        {
          name: "x",
          metas: [
            meta("1", "online", { online_at: "2024-03-01T11:00:00.000Z" }),
            meta("2", "dancing", { online_at: "2024-03-01T09:00:00.000Z" }),
          ],
        },
        { name: "empty", metas: [] },
      ],
      "me",
    );
    expect(rows).toEqual([
      {
        name: "x",
        displayName: null,
        color: null,
        avatarUrl: null,
        status: "online",
        activity: null,
        count: 2,
        self: false,
        onlineAt: "2024-03-01T09:00:00.000Z",
      },
    ]);
  });

  it("shows a verified person as their display name and colour, keyed by their nickname", () => {
    const io = {
      display_name: "Io Lee",
      color: "var(--jp-collaborator-color3)",
      avatar_url: "https://avatars.example/io.png",
    };
    const state = Presence.syncState(
      {},
      {
        // The kernel's link carries no profile; the view, vouched for by the extension, does.
        io: { metas: [meta("1", "online", { kind: "kernel" }), meta("2", "online", io)] },
        "Anonymous Europa": { metas: [meta("3", "online", { color: "var(--jp-collaborator-color6)" })] },
        zed: { metas: [meta("4")] },
      },
    );
    const rows = buildPresenceList(entries(state), "io");
    expect(rows.map((r) => [r.name, r.displayName, r.color, r.avatarUrl, r.self])).toEqual([
      ["Anonymous Europa", null, "var(--jp-collaborator-color6)", null, false],
      ["io", "Io Lee", "var(--jp-collaborator-color3)", "https://avatars.example/io.png", true],
      ["zed", null, null, null, false],
    ]);
    expect(rows.map(shownAs)).toEqual(["Anonymous Europa", "Io Lee", "zed"]);
  });

  it("ignores a profile the rules refuse, field by field", () => {
    const [row] = buildPresenceList(
      [
        {
          name: "eve",
          metas: [
            meta("1", "online", {
              display_name: "x".repeat(65),
              color: "url(https://evil.example/)",
              avatar_url: "javascript:alert(1)",
            }),
          ],
        },
      ],
      "me",
    );
    expect([row.displayName, row.color, row.avatarUrl]).toEqual([null, null, null]);
  });

  it("sorts by the name shown", () => {
    const rows = buildPresenceList(
      [
        { name: "zz", metas: [meta("1", "online", { display_name: "Ada" })] },
        { name: "bob", metas: [meta("2")] },
      ],
      "me",
    );
    expect(rows.map((r) => r.name)).toEqual(["zz", "bob"]);
  });
});
