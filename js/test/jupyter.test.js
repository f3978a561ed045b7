import { describe, expect, it, vi } from "vitest";
import {
  JUPYTER_USER_KEY,
  fetchViewer,
  jupyterBaseUrl,
  jupyterColour,
  keepViewer,
  routeSocketUrl,
} from "../src/lib/jupyter.js";

function page(config) {
  return {
    getElementById: (id) =>
      id === "jupyter-config-data" && config !== null ? { textContent: config } : null,
  };
}

describe("jupyterBaseUrl", () => {
  it("reads the base URL JupyterLab and Notebook 7 put in the page", () => {
    expect(jupyterBaseUrl(page('{"baseUrl": "/user/ada/"}'))).toBe("/user/ada/");
    expect(jupyterBaseUrl(page('{"baseUrl": "/jupyter"}'))).toBe("/jupyter/");
  });
  it("is null outside a Jupyter page or for anything but a path", () => {
    expect(jupyterBaseUrl(page(null))).toBeNull();
    expect(jupyterBaseUrl(page("not json"))).toBeNull();
    expect(jupyterBaseUrl(page('{"baseUrl": "https://evil.example/"}'))).toBeNull();
  });
});

describe("routeSocketUrl", () => {
  it("keeps the query but the token, on the page's own origin", () => {
    const url = routeSocketUrl(
      "ws://127.0.0.1:4000/socket/websocket?nickname=ada&token=tv1.x&vsn=2.0.0",
      "/user/ada/",
      "https://hub.example/user/ada/lab/tree/a.ipynb",
    );
    expect(url).toBe(
      "wss://hub.example/user/ada/talkex/socket/websocket?nickname=ada&vsn=2.0.0",
    );
  });
});

describe("jupyterColour", () => {
  const storage = (value) => ({ getItem: (key) => (key === JUPYTER_USER_KEY ? value : null) });
  it("reads the colour JupyterLab keeps for the user, if it is one of JupyterLab's own", () => {
    const identity = (color) => JSON.stringify({ username: "x", name: "Anonymous Io", color });
    expect(jupyterColour(storage(identity("var(--jp-collaborator-color2)")))).toBe("var(--jp-collaborator-color2)");
    expect(jupyterColour(storage(identity("#ff0000")))).toBeNull(); // Jupyter's own colours come from the server
    expect(jupyterColour(storage(identity(undefined)))).toBeNull();
    expect(jupyterColour(storage("not json"))).toBeNull();
    expect(jupyterColour(storage(null))).toBeNull();
    expect(
      jupyterColour({
        getItem() {
          throw new Error("SecurityError");
        },
      }),
    ).toBeNull();
  });

  it("goes with the viewer's questions to the extension", async () => {
    const colour = "var(--jp-collaborator-color2)";
    expect(routeSocketUrl("ws://s:1/socket/websocket?nickname=ada&color=red", "/", "http://lab:8888/lab", colour)).toBe(
      "ws://lab:8888/talkex/socket/websocket?nickname=ada&color=var%28--jp-collaborator-color2%29",
    );
    const asked = [];
    await fetchViewer("/", "ada", async (url) => asked.push(url) && { status: 404 }, colour);
    expect(asked).toEqual(["/talkex/api/viewer?nickname=ada&color=var(--jp-collaborator-color2)"]);
  });
});

describe("fetchViewer", () => {
  const answer = (status, body) => async (url, options) => {
    answer.asked = { url, options };
    return { status, json: async () => body };
  };
  it("asks the route who the viewer is, for the widget's nickname", async () => {
    const viewer = await fetchViewer(
      "/",
      "ada lovelace",
      answer(200, { nickname: "Anonymous Io", token: "tv1.t", server_url: "http://s/" }),
    );
    expect(answer.asked.url).toBe("/talkex/api/viewer?nickname=ada%20lovelace");
    expect(answer.asked.options.credentials).toBe("same-origin");
    expect(viewer).toMatchObject({ nickname: "Anonymous Io", token: "tv1.t", serverUrl: "http://s/" });
  });
  it("is null without the extension, without a server, or on a network error", async () => {
    expect(await fetchViewer("/", "ada", answer(404, {}))).toBeNull();
    expect(await fetchViewer("/", "ada", answer(200, { nickname: 3 }))).toBeNull();
    expect(
      await fetchViewer("/", "ada", async () => {
        throw new Error("offline");
      }),
    ).toBeNull();
  });
});

describe("keepViewer", () => {
  it("asks again on a timer and passes on fresh tokens for the same person only", async () => {
    vi.useFakeTimers();
    const answers = [
      { nickname: "ada", token: "t2" },
      { nickname: "Anonymous Io", token: "t3" },
    ];
    const asked = [];
    const fetchImpl = async (url) => {
      asked.push(url);
      return { status: 200, json: async () => answers.shift() };
    };
    const heard = [];
    const stop = keepViewer("/", { asked: "ada", nickname: "ada" }, (v) => heard.push(v.token), {
      fetchImpl,
      everyMs: 1000,
    });
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toEqual(["/talkex/api/viewer?nickname=ada", "/talkex/api/viewer?nickname=ada"]);
    expect(heard).toEqual(["t2"]); // the name changed hands: no token for another person
    stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked).toHaveLength(2);
    vi.useRealTimers();
  });
});
