// The Jupyter server extension, seen from a widget view (see talkex_widget/notebook/route.py).
// JupyterLab and Notebook 7 pages carry their `baseUrl` in `#jupyter-config-data`. With the
// extension, `<baseUrl>talkex/api/viewer` says who the person viewing the page is in the chat
// (Jupyter's own login decides; the answer carries a short-lived token naming them), and
// `<baseUrl>talkex/socket/websocket` is the chat's socket through Jupyter's port and login.
// Without it (VS Code, Colab, the extension turned off) both are absent and the view keeps the
// kernel's config: direct socket, then the comm relay.

import { JUPYTER_COLOUR_RE } from "./avatar.js";

export const ROUTE = "talkex/";

/** Where JupyterLab and Notebook 7 keep the identity they show for the user (their UserManager). */
export const JUPYTER_USER_KEY = "@jupyterlab/services:UserManager#user";

/**
 * The colour JupyterLab shows for the person at this page: under token login Jupyter's server
 * knows none, and JupyterLab picks one of its seven collaborator colours in the browser and
 * keeps it in localStorage. The extension signs it into the viewer's token (only those seven
 * are taken), so the presence list shows people in the colour JupyterLab shows them in.
 * Null outside JupyterLab (no such entry) or where storage cannot be read.
 */
export function jupyterColour(storage) {
  try {
    const store = storage ?? globalThis.localStorage;
    const identity = JSON.parse(store?.getItem(JUPYTER_USER_KEY) || "null");
    const colour = identity && identity.color;
    return typeof colour === "string" && JUPYTER_COLOUR_RE.test(colour) ? colour : null;
  } catch {
    return null;
  }
}

/** The page's Jupyter base URL ("/" or "/user/ada/"), or null outside a Jupyter page. */
export function jupyterBaseUrl(doc = globalThis.document) {
  const element = doc?.getElementById?.("jupyter-config-data");
  if (!element) return null;
  try {
    const baseUrl = JSON.parse(element.textContent || "{}").baseUrl;
    if (typeof baseUrl !== "string" || !baseUrl.startsWith("/")) return null;
    return baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  } catch {
    return null;
  }
}

/**
 * Maps a direct socket URL (`ws://127.0.0.1:PORT/socket/websocket?vsn=...&nickname=...&token=...`)
 * to the same socket through the Jupyter route on the page's origin. The token is left out: the
 * route sends the server a credential of its own for the logged-in viewer, with the colour
 * JupyterLab shows for them (`colour`) when there is one.
 */
export function routeSocketUrl(directUrl, baseUrl, pageUrl = globalThis.location?.href, colour = jupyterColour()) {
  const page = new URL(pageUrl);
  const direct = new URL(directUrl, pageUrl);
  const query = new URLSearchParams(direct.search);
  query.delete("token");
  query.delete("color");
  if (colour) query.set("color", colour);
  const scheme = page.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${page.host}${baseUrl}${ROUTE}socket/websocket?${query}`;
}

/**
 * Who the viewer is in the chat of a widget whose nickname is `nickname`: `{asked, nickname,
 * token, serverUrl, displayName, color}`, or null when the page has no extension (or no server for it).
 * `colour`: the one JupyterLab shows for the viewer, for the extension to sign in.
 */
export async function fetchViewer(baseUrl, nickname, fetchImpl = globalThis.fetch, colour = jupyterColour()) {
  const shown = colour ? `&color=${encodeURIComponent(colour)}` : "";
  const url = `${baseUrl}${ROUTE}api/viewer?nickname=${encodeURIComponent(nickname)}${shown}`;
  let body;
  try {
    const response = await fetchImpl(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
    if (response.status !== 200) return null;
    body = await response.json();
  } catch {
    return null;
  }
  if (!body || typeof body.nickname !== "string" || typeof body.token !== "string") return null;
  return {
    asked: nickname,
    nickname: body.nickname,
    token: body.token,
    serverUrl: typeof body.server_url === "string" ? body.server_url : null,
    displayName: typeof body.display_name === "string" ? body.display_name : body.nickname,
    color: typeof body.color === "string" ? body.color : null,
  };
}

export const VIEWER_REFRESH_MS = 5 * 60 * 1000;

/**
 * Ask again every `everyMs` (half the token's life): a fresh token for the next reconnect, and
 * the viewer keeps the nickname they hold (the extension lets an unclaimed one go after 10 min).
 * `onViewer(viewer)` hears each answer for the same person; returns a function that stops.
 */
export function keepViewer(baseUrl, viewer, onViewer, { fetchImpl, everyMs = VIEWER_REFRESH_MS } = {}) {
  let stopped = false;
  const timer = setInterval(async () => {
    const fresh = await fetchViewer(baseUrl, viewer.asked ?? viewer.nickname, fetchImpl);
    if (!stopped && fresh && fresh.nickname === viewer.nickname) onViewer(fresh);
  }, everyMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
