import { describe, expect, it, vi } from "vitest";
import { hubPrefix, signInUrl, watchSignIn, whoAmI } from "../src/lib/hub.js";

const reply = (status, body) => async () => ({ status, json: async () => body });

describe("hubPrefix", () => {
  it("keeps only the path, so the page's own origin (the hub's proxy) is used", () => {
    expect(hubPrefix("http://hub.internal:8000/services/talkex/")).toBe("/services/talkex/");
    expect(hubPrefix("http://hub.internal:8000/services/talkex")).toBe("/services/talkex/");
    expect(hubPrefix("/prefix/services/talkex//", "https://hub.example/")).toBe(
      "/prefix/services/talkex/",
    );
  });
});

describe("signInUrl", () => {
  it("starts the service's login and returns to its signed-in page", () => {
    expect(signInUrl("/services/talkex/")).toBe(
      "/services/talkex/login?next=%2Fservices%2Ftalkex%2Fsigned-in",
    );
  });
});

describe("whoAmI", () => {
  it("reads the hub user from api/me", async () => {
    const fetchImpl = vi.fn(reply(200, { name: "alice", display_name: "Alice L", groups: ["data"] }));
    expect(await whoAmI("/services/talkex/", fetchImpl)).toEqual({
      state: "in",
      name: "alice",
      displayName: "Alice L",
      groups: ["data"],
    });
    expect(fetchImpl.mock.calls[0][0]).toBe("/services/talkex/api/me");
    expect(fetchImpl.mock.calls[0][1].credentials).toBe("same-origin");
  });

  it("tells signed out, refused and unreachable apart", async () => {
    expect(await whoAmI("/p/", reply(401, { error: "not signed in to the hub" }))).toEqual({
      state: "out",
      reason: "not signed in to the hub",
    });
    expect((await whoAmI("/p/", reply(403, { error: "carol may not use talkex" }))).state).toBe(
      "refused",
    );
    expect((await whoAmI("/p/", reply(502, "not json"))).state).toBe("down");
    const failing = async () => {
      throw new Error("offline");
    };
    expect(await whoAmI("/p/", failing)).toEqual({
      state: "down",
      reason: "the chat service did not answer (offline)",
    });
  });
});

describe("watchSignIn", () => {
  it("asks until signed in, reporting each new state once", async () => {
    vi.useFakeTimers();
    try {
      const answers = [
        [401, { error: "not signed in" }],
        [401, { error: "not signed in" }],
        [200, { name: "bob" }],
      ];
      const fetchImpl = vi.fn(async () => {
        const [status, body] = answers.shift();
        return { status, json: async () => body };
      });
      const seen = [];
      watchSignIn("/p/", (who) => seen.push(who.state), { fetchImpl, pollMs: 100 });
      await vi.advanceTimersByTimeAsync(350);
      expect(seen).toEqual(["out", "in"]);
      expect(fetchImpl).toHaveBeenCalledTimes(3);
      await vi.advanceTimersByTimeAsync(500);
      expect(fetchImpl).toHaveBeenCalledTimes(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops asking when stopped", async () => {
    vi.useFakeTimers();
    try {
      const fetchImpl = vi.fn(reply(401, {}));
      const stop = watchSignIn("/p/", () => {}, { fetchImpl, pollMs: 100 });
      await vi.advanceTimersByTimeAsync(0);
      stop();
      await vi.advanceTimersByTimeAsync(1000);
      expect(fetchImpl).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
