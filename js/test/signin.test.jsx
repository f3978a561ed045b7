// @vitest-environment happy-dom
// Hub mode's pieces of UI: the sign-in offer, and a join form with a name the server vouches for.
import { afterEach, describe, expect, it, vi } from "vitest";
import { JoinForm } from "../src/components/JoinForm.jsx";
import { SignIn } from "../src/components/SignIn.jsx";
import { act, mount } from "./helpers/dom.js";

let mounted = [];
const show = (element) => {
  const view = mount(element);
  mounted.push(view);
  return view.container;
};
afterEach(() => {
  mounted.forEach((view) => view.unmount());
  mounted = [];
});

describe("SignIn", () => {
  it("offers the hub's sign-in in a new tab while signed out", () => {
    const el = show(<SignIn prefix="/services/talkex/" who={{ state: "out", reason: "x" }} />);
    const link = el.querySelector("a");
    expect(link.textContent).toBe("Sign in to chat");
    expect(link.getAttribute("href")).toBe("/services/talkex/login?next=%2Fservices%2Ftalkex%2Fsigned-in");
    expect(link.getAttribute("rel")).toBe("noopener");
  });

  it("says why the hub refuses, and offers no sign-in then", () => {
    const reason = "carol may not use talkex: the hub grants it with the scope access:services!service=talkex";
    const el = show(<SignIn prefix="/p/" who={{ state: "refused", reason }} />);
    expect(el.querySelector('[role="alert"]').textContent).toBe(reason);
    expect(el.querySelector("a")).toBeNull();
  });
});

describe("JoinForm signed in", () => {
  it("asks only for the room and joins under the given name", () => {
    const onJoin = vi.fn();
    const el = show(<JoinForm signedInAs="alice" initialRoom="lobby" onJoin={onJoin} />);
    expect(el.querySelector('input[name="nickname"]')).toBeNull();
    expect(el.textContent).toContain("Signed in as alice");
    act(() => el.querySelector("form").dispatchEvent(new Event("submit", { bubbles: true, cancelable: true })));
    expect(onJoin).toHaveBeenCalledWith("alice", "lobby");
  });
});
