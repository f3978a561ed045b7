import { describe, expect, it } from "vitest";
import { notifyMention, notifyOptedIn, setNotifyOptIn } from "../src/lib/notify.js";

function fakeWindow(permission = "default", answer = "granted") {
  const shown = [];
  const store = new Map();
  class Notification {
    static permission = permission;
    static async requestPermission() {
      Notification.permission = answer;
      return answer;
    }
    constructor(title, options) {
      shown.push([title, options.body]);
    }
  }
  const localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  return { win: { Notification, localStorage }, shown };
}

describe("mention notifications", () => {
  it("are off until the reader opts in and the browser allows them", async () => {
    const { win } = fakeWindow();
    expect(notifyOptedIn(win)).toBe(false);
    expect(await setNotifyOptIn(true, win)).toBe(true);
    expect(notifyOptedIn(win)).toBe(true);
    expect(await setNotifyOptIn(false, win)).toBe(false);
    expect(notifyOptedIn(win)).toBe(false);
  });

  it("stay off when the browser refuses", async () => {
    const { win } = fakeWindow("default", "denied");
    expect(await setNotifyOptIn(true, win)).toBe(false);
    expect(notifyOptedIn(win)).toBe(false);
  });

  it("show the author, the room and the start of the message", () => {
    const { win, shown } = fakeWindow("granted");
    notifyMention({ id: 3, author: "bob", body: `@ann ${"x".repeat(300)}` }, "lobby", win);
    expect(shown).toHaveLength(1);
    expect(shown[0][0]).toBe("bob mentioned you in #lobby");
    expect(shown[0][1]).toHaveLength(140);
  });
});
