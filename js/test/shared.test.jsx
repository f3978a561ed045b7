// @vitest-environment jsdom
// Shared results: tables with "… more" and TSV copy, figures fetched over the channel, code.
import { afterEach, describe, expect, it, vi } from "vitest";
import { MessageBody } from "../src/components/MessageBody.jsx";
import { SharedSource } from "../src/components/SharedResult.jsx";
import { codeFence, fetchAttachment, imageSource, moreNote, sharedKind, tableToTsv } from "../src/lib/shared.js";
import { act, click, mount } from "./helpers/dom.js";

const TABLE = {
  columns: ["name", "score"],
  rows: [
    ["ann", 1.5],
    ["b\tob", null],
  ],
  total_rows: 80,
  total_columns: 2,
};

let view;
afterEach(() => {
  view?.unmount();
  view = null;
  delete navigator.clipboard;
});

/** A channel whose `attachment` push answers `reply` with `status`. */
function fakeChannel(status, reply) {
  const pushes = [];
  return {
    pushes,
    push(event, payload) {
      pushes.push([event, payload]);
      const receipt = {
        receive(kind, callback) {
          if (kind === status) queueMicrotask(() => callback(reply));
          return receipt;
        },
      };
      return receipt;
    },
  };
}

describe("shared results, pure parts", () => {
  it("knows the kinds it can show and falls back to text", () => {
    expect(sharedKind({ kind: "table", table: TABLE })).toBe("table");
    expect(sharedKind({ kind: "table", table: { columns: ["a"], rows: [[1, 2]] } })).toBe("text");
    expect(sharedKind({ kind: "figure", attachment: { id: "x", type: "image/svg+xml" } })).toBe("text");
    expect(sharedKind({ kind: "code" })).toBe("code");
    expect(sharedKind({ body: "hi" })).toBe("text");
  });

  it("notes what was cut and copies as TSV", () => {
    expect(moreNote(TABLE)).toBe("… 78 more rows");
    expect(moreNote({ ...TABLE, total_rows: 2, total_columns: 3 })).toBe("… 1 more column");
    expect(tableToTsv(TABLE)).toBe("name\tscore\nann\t1.5\nb ob\t");
  });

  it("fences code so that no backticks inside end it, and keeps odd languages out", () => {
    expect(codeFence("a ```` b", "python")).toBe("`````python\na ```` b\n`````");
    expect(codeFence("x", "py\"><script>")).toBe("```\nx\n```");
  });

  it("makes data URLs only for PNG and JPEG", () => {
    expect(imageSource({ type: "image/png", data: "iVBO" })).toBe("data:image/png;base64,iVBO");
    expect(imageSource({ type: "image/svg+xml", data: "PHN2Zz4=" })).toBeNull();
    expect(imageSource({ type: "image/png", data: "a\"b" })).toBeNull();
  });

  it("fetches an attachment once and does not keep a failure", async () => {
    const channel = fakeChannel("ok", { type: "image/png", data: "AAAA" });
    await expect(fetchAttachment(channel, "once-1")).resolves.toBe("data:image/png;base64,AAAA");
    await fetchAttachment(channel, "once-1");
    expect(channel.pushes).toEqual([["attachment", { id: "once-1" }]]);
    const refusing = fakeChannel("error", { reason: "no such attachment in this room" });
    await expect(fetchAttachment(refusing, "gone-1")).rejects.toThrow("no such attachment");
    await expect(fetchAttachment(refusing, "gone-1")).rejects.toThrow();
    expect(refusing.pushes.length).toBe(2);
  });
});

describe("MessageBody with a shared result", () => {
  it("shows a table with its cut noted and copies it as TSV", async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    view = mount(<MessageBody body="scores" message={{ id: 1, kind: "table", body: "scores", table: TABLE }} />);
    const table = view.container.querySelector(".tx-shared-table table");
    expect([...table.querySelectorAll("th")].map((th) => th.textContent)).toEqual(["name", "score"]);
    expect(table.querySelectorAll("tbody tr").length).toBe(2);
    expect(view.container.querySelector(".tx-more").textContent).toBe("… 78 more rows");
    click(view.container.querySelector(".tx-copy-tsv"));
    expect(writeText).toHaveBeenCalledWith(tableToTsv(TABLE));
    await act(async () => {});
    expect(view.container.querySelector(".tx-copy-tsv").textContent).toBe("Copied");
  });

  it("shows a figure fetched over the channel and enlarges it on click", async () => {
    const channel = fakeChannel("ok", { type: "image/png", data: "iVBORw0K" });
    const message = {
      id: 2,
      kind: "figure",
      body: "loss",
      attachment: { id: "fig-2", type: "image/png", width: 30, height: 20 },
    };
    view = mount(
      <SharedSource.Provider value={{ channel }}>
        <MessageBody body="loss" message={message} />
      </SharedSource.Provider>,
    );
    await act(async () => {});
    const img = view.container.querySelector(".tx-shared-figure img");
    expect(img.getAttribute("src")).toBe("data:image/png;base64,iVBORw0K");
    expect(img.getAttribute("alt")).toBe("loss");
    click(view.container.querySelector(".tx-figure-open"));
    expect(view.container.querySelector(".tx-lightbox img")).not.toBeNull();
    click(view.container.querySelector(".tx-lightbox"));
    expect(view.container.querySelector(".tx-lightbox")).toBeNull();
  });

  it("says why an image is missing and fetches it again on Retry", async () => {
    const channel = fakeChannel("error", { reason: "not connected yet" });
    const message = { id: 4, kind: "figure", body: "", attachment: { id: "fig-4", type: "image/png" } };
    view = mount(
      <SharedSource.Provider value={{ channel }}>
        <MessageBody body="" message={message} />
      </SharedSource.Provider>,
    );
    await act(async () => {});
    expect(view.container.querySelector(".tx-figure-wait").textContent).toContain("not connected yet");
    click(view.container.querySelector(".tx-figure-wait button"));
    await act(async () => {});
    expect(channel.pushes.length).toBe(2);
  });

  it("shows code highlighted in its language, sanitized", () => {
    const message = { id: 3, kind: "code", body: "x = 1  # <img src=x onerror=alert(1)>", language: "python" };
    view = mount(<MessageBody body={message.body} message={message} />);
    expect(view.container.querySelector(".tx-code-lang").textContent).toBe("python");
    expect(view.container.querySelector("code.language-python")).not.toBeNull();
    expect(view.container.querySelector("img")).toBeNull();
  });
});
