// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { Composer } from "../src/components/Composer.jsx";
import { ConnectionIndicator } from "../src/components/ConnectionIndicator.jsx";
import { JoinForm } from "../src/components/JoinForm.jsx";
import { MessageList } from "../src/components/MessageList.jsx";
import { PresenceList } from "../src/components/PresenceList.jsx";
import { RoomView } from "../src/components/RoomView.jsx";
import { HOST_GONE_MESSAGE } from "../src/lib/outage.js";
import { ChatSession } from "../src/lib/session.js";
import { DEFAULT_MAX_BODY } from "../src/lib/validate.js";
import { act, click, key, mount, type } from "./helpers/dom.js";

let view;
afterEach(() => {
  view?.unmount();
  view = null;
});

describe("Composer", () => {
  const setup = (props = {}) => {
    const onSend = vi.fn(() => null);
    view = mount(<Composer enabled hint="offline" maxBody={DEFAULT_MAX_BODY} onSend={onSend} {...props} />);
    const input = view.container.querySelector("textarea");
    return { onSend, input };
  };

  it("is labelled Message and sends on Enter", () => {
    const { onSend, input } = setup();
    expect(input.getAttribute("aria-label")).toBe("Message");
    type(input, "hello");
    expect(view.container.querySelector(".tx-counter").textContent).toBe(`5/${DEFAULT_MAX_BODY}`);
    const event = key(input, { key: "Enter" });
    expect(event.defaultPrevented).toBe(true);
    expect(onSend).toHaveBeenCalledWith("hello");
    expect(input.value).toBe("");
  });

  it("keeps Shift+Enter for new lines and ignores Enter while composing", () => {
    const { onSend, input } = setup();
    type(input, "line one");
    expect(key(input, { key: "Enter", shiftKey: true }).defaultPrevented).toBe(false);
    expect(key(input, { key: "Enter", isComposing: true }).defaultPrevented).toBe(false);
    expect(onSend).not.toHaveBeenCalled();
  });

  it("does not send empty or blank input", () => {
    const { onSend, input } = setup();
    key(input, { key: "Enter" });
    type(input, "  \n ");
    key(input, { key: "Enter" });
    expect(onSend).not.toHaveBeenCalled();
  });

  it("refuses input over the limit and says so", () => {
    const { onSend, input } = setup();
    type(input, "x".repeat(DEFAULT_MAX_BODY + 1));
    key(input, { key: "Enter" });
    expect(onSend).not.toHaveBeenCalled();
    expect(view.container.querySelector(".tx-counter").textContent).toBe(
      `${DEFAULT_MAX_BODY + 1}/${DEFAULT_MAX_BODY}`,
    );
    expect(view.container.textContent).toContain("Too long");
  });

  it("counts against the limit it is given: the server's", () => {
    const { onSend, input } = setup({ maxBody: 10 });
    type(input, "x".repeat(11));
    key(input, { key: "Enter" });
    expect(onSend).not.toHaveBeenCalled();
    expect(view.container.querySelector(".tx-counter").textContent).toBe("11/10");
    expect(view.container.textContent).toContain("Too long: at most 10 characters");
    type(input, "x".repeat(10));
    key(input, { key: "Enter" });
    expect(onSend).toHaveBeenCalledWith("x".repeat(10));
  });

  it("is disabled with a hint while disconnected", () => {
    const { input } = setup({ enabled: false, hint: "Disconnected: wait" });
    expect(input.disabled).toBe(true);
    expect(view.container.textContent).toContain("Disconnected: wait");
  });

  it("keeps the text when the session refuses it", () => {
    const { input } = setup({ onSend: () => "no" });
    type(input, "kept");
    key(input, { key: "Enter" });
    expect(input.value).toBe("kept");
  });
});

describe("MessageList", () => {
  const messages = [
    { id: 1, author: "bob", body: "<b>not bold</b><img src=x onerror=alert(1)>", sent_at: "2024-03-01T10:00:00Z" },
    { id: 2, author: "bob", body: "second", sent_at: "2024-03-01T10:01:00Z" },
    { id: 3, author: "me", body: "mine", sent_at: "2024-03-01T10:02:00Z", client_id: "c0" },
  ];
  const pending = [
    { client_id: "c1", author: "me", body: "on its way", sent_at: "2024-03-01T10:03:00Z", state: "sending" },
    { client_id: "c2", author: "me", body: "refused", sent_at: "2024-03-01T10:03:00Z", state: "failed", error: "you are sending too fast" },
  ];
  const props = (over = {}) => ({
    messages,
    pending,
    nickname: "me",
    hasMore: false,
    loadingOlder: false,
    canLoadOlder: true,
    onLoadOlder: vi.fn(),
    onRetry: vi.fn(),
    onDiscard: vi.fn(),
    ...over,
  });

  it("is a log labelled Messages, with bodies as plain text", () => {
    view = mount(<MessageList {...props()} />);
    const log = view.container.querySelector('[role="log"]');
    expect(log.getAttribute("aria-label")).toBe("Messages");
    expect(log.querySelector("b, img")).toBeNull();
    expect(log.querySelector('[data-message-id="1"] .tx-body').textContent).toBe(messages[0].body);
  });

  it("groups consecutive messages and marks our own", () => {
    view = mount(<MessageList {...props()} />);
    const groups = [...view.container.querySelectorAll(".tx-group")];
    expect(groups.map((g) => [g.dataset.author, g.classList.contains("tx-own"), g.querySelectorAll(".tx-msg").length])).toEqual([
      ["bob", false, 2],
      ["me", true, 3],
    ]);
    expect(groups[1].querySelector(".tx-you").textContent).toBe("you");
  });

  it("shows pending messages as sending, failed ones with retry and discard", () => {
    const p = props();
    view = mount(<MessageList {...p} />);
    const sending = view.container.querySelector('[data-client-id="c1"]');
    expect(sending.dataset.state).toBe("sending");
    expect(sending.textContent).toContain("sending");
    const failed = view.container.querySelector('[data-client-id="c2"]');
    expect(failed.dataset.state).toBe("failed");
    expect(failed.textContent).toContain("you are sending too fast");
    const [retry, discard] = failed.querySelectorAll("button");
    click(retry);
    click(discard);
    expect(p.onRetry).toHaveBeenCalledWith("c2");
    expect(p.onDiscard).toHaveBeenCalledWith("c2");
  });

  it("puts the new-messages line above a group that starts the unread part, inside one that does not", () => {
    const talk = [
      { id: 1, author: "me", body: "question", sent_at: "2024-03-01T10:00:00Z" },
      { id: 2, author: "bob", body: "answer", sent_at: "2024-03-01T10:01:00Z" },
      { id: 3, author: "bob", body: "more", sent_at: "2024-03-01T10:01:30Z" },
    ];
    const order = (root) =>
      [...root.querySelectorAll(".tx-unread-line, .tx-group-head, .tx-msg")].map((el) =>
        el.classList.contains("tx-unread-line") ? "line" : el.classList.contains("tx-group-head") ? "head" : el.dataset.messageId,
      );
    view = mount(<MessageList {...props({ messages: talk, pending: [], markerId: 1 })} />);
    expect(order(view.container)).toEqual(["head", "1", "line", "head", "2", "3"]);
    view.unmount();
    view = mount(<MessageList {...props({ messages: talk, pending: [], markerId: 2 })} />);
    expect(order(view.container)).toEqual(["head", "1", "head", "2", "line", "3"]);
  });

  it("offers older messages when the server has more", () => {
    const p = props({ hasMore: true });
    view = mount(<MessageList {...p} />);
    const button = [...view.container.querySelectorAll("button")].find((b) => b.textContent === "Load older messages");
    click(button);
    expect(p.onLoadOlder).toHaveBeenCalled();
  });
});

describe("PresenceList", () => {
  it("lists people with status, connection count and 'you'", () => {
    view = mount(
      <PresenceList
        people={[
          { name: "alice", status: "away", count: 2, self: false },
          { name: "me", status: "busy", count: 1, self: true },
          { name: "zoe", status: "online", count: 1, self: false },
        ]}
      />,
    );
    const list = view.container.querySelector("ul");
    expect(list.getAttribute("aria-label")).toBe("Who's online");
    const [alice, me, zoe] = list.querySelectorAll("li");
    expect(alice.dataset.status).toBe("away");
    expect(alice.querySelector(".tx-dot-away").getAttribute("aria-label")).toBe("away");
    expect(alice.querySelector(".tx-person-name").textContent).toBe("alice×2");
    expect(alice.querySelector(".tx-person-status").textContent).toBe("away");
    expect(me.querySelector(".tx-person-name").textContent).toBe("meyou");
    expect(me.querySelector(".tx-person-status").textContent).toBe("busy");
    expect(me.querySelector("bdi").textContent).toBe("me");
    expect(zoe.textContent).toBe("zoe");
    expect(zoe.querySelector(".tx-person-status")).toBeNull();
  });

  it("puts the activity on its own line, after the status word", () => {
    view = mount(
      <PresenceList
        people={[{ name: "ann lee", status: "busy", activity: "running model.fit(X, y)", count: 1, self: false }]}
      />,
    );
    const row = view.container.querySelector("li");
    expect(row.querySelector(".tx-person-name").textContent).toBe("ann lee");
    expect(row.querySelector(".tx-person-status").textContent).toBe("busy · running model.fit(X, y)");
    expect(row.title).toBe("ann lee · busy: running model.fit(X, y)");
  });

  it("draws initials avatars coloured by name, out of the row's text", () => {
    view = mount(
      <PresenceList
        people={[
          { name: "ann lee", status: "online", count: 1, self: false },
          { name: "bob", status: "online", count: 1, self: false },
        ]}
      />,
    );
    const [ann, bob] = view.container.querySelectorAll(".tx-avatar");
    expect(ann.dataset.initials).toBe("AL");
    expect(ann.className).toBe("tx-avatar tx-avatar-6");
    expect(ann.getAttribute("aria-hidden")).toBe("true");
    expect(bob.dataset.initials).toBe("B");
    expect(bob.className).toBe("tx-avatar tx-avatar-8");
    expect(ann.textContent).toBe("");
  });

  it("escapes invisible characters in names", () => {
    view = mount(<PresenceList people={[{ name: "eve\u202Eevil", status: "online", count: 1, self: false }]} />);
    expect(view.container.querySelector("bdi").textContent).toBe("eve\\u{202E}evil");
  });
});

describe("ConnectionIndicator", () => {
  it("is a status labelled Connection", () => {
    view = mount(<ConnectionIndicator state="reconnecting" />);
    const status = view.container.querySelector('[role="status"]');
    expect(status.getAttribute("aria-label")).toBe("Connection");
    expect(status.textContent).toBe("reconnecting");
  });
});

describe("JoinForm", () => {
  it("shows the reason for a bad room and joins with valid input", () => {
    const onJoin = vi.fn();
    view = mount(<JoinForm initialRoom="bad room" onJoin={onJoin} />);
    const [nickname, room] = view.container.querySelectorAll("input");
    expect(nickname.closest("label").textContent).toContain("Nickname");
    expect(room.closest("label").textContent).toContain("Room");
    type(nickname, "  alice ");
    click(view.container.querySelector("button[type=submit]"));
    expect(view.container.querySelector('[role="alert"]').textContent).toBe(
      "room name may only use letters, digits, '-', '_' and '.'",
    );
    expect(onJoin).not.toHaveBeenCalled();
    type(room, "lobby");
    click(view.container.querySelector("button[type=submit]"));
    expect(view.container.querySelector('[role="alert"]')).toBeNull();
    expect(onJoin).toHaveBeenCalledWith("alice", "lobby");
  });

  it("refuses a nickname with a bidi override", () => {
    const onJoin = vi.fn();
    view = mount(<JoinForm initialNickname={"x\u202Ey"} initialRoom="lobby" onJoin={onJoin} />);
    click(view.container.querySelector("button[type=submit]"));
    expect(view.container.querySelector('[role="alert"]').textContent).toContain("invisible formatting");
    expect(onJoin).not.toHaveBeenCalled();
  });
});

describe("RoomView", () => {
  it("renders the session state: online count, status, errors, composer state", () => {
    const session = new ChatSession({ room: "lobby", nickname: "me" });
    session.setStatus = vi.fn();
    view = mount(<RoomView session={session} />);
    const text = () => view.container.textContent;
    expect(view.container.querySelector('[role="status"]').textContent).toBe("connecting");
    expect(view.container.querySelector("textarea").disabled).toBe(true);
    act(() =>
      session.update({
        connection: "connected",
        joined: true,
        presence: [
          { name: "bob", status: "online", count: 1, self: false },
          { name: "me", status: "online", count: 1, self: true },
        ],
        joinError: "you may not join",
      }),
    );
    expect(text()).toContain("2 online");
    expect(view.container.querySelector('[role="status"]').textContent).toBe("connected");
    expect(view.container.querySelector("textarea").disabled).toBe(false);
    expect(view.container.querySelector('[role="alert"]').textContent).toBe("you may not join");

    const select = view.container.querySelector("select");
    expect(select.getAttribute("aria-label")).toBe("Status");
    act(() => {
      select.value = "busy";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(session.setStatus).toHaveBeenCalledWith("busy");
  });

  it("shows the notebook host gone as a status banner, no alert, until the session is back", () => {
    const session = new ChatSession({ room: "lobby", nickname: "me", host: "notebook" });
    view = mount(<RoomView session={session} />);
    const banner = () => view.container.querySelector(".tx-host-gone");
    expect(banner()).toBeNull();
    act(() => session.update({ connection: "reconnecting", hostGone: true }));
    expect(banner().getAttribute("role")).toBe("status");
    expect(banner().textContent).toBe(HOST_GONE_MESSAGE);
    expect(view.container.querySelector('[role="alert"]')).toBeNull();
    act(() => session.update({ connection: "connected", hostGone: false }));
    expect(banner()).toBeNull();
  });

  it("gives the composer the limit the session learnt from the join reply", () => {
    const session = new ChatSession({ room: "lobby", nickname: "me" });
    view = mount(<RoomView session={session} />);
    const counter = () => view.container.querySelector(".tx-counter").textContent;
    expect(counter()).toBe(`0/${DEFAULT_MAX_BODY}`);
    act(() => session.joined({ messages: [], limits: { max_body: 300 } }));
    expect(counter()).toBe("0/300");
  });
});
