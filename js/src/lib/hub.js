// JupyterHub mode in the browser. On a hub the Talkex service lives under the hub's proxy
// (`/services/talkex/`), on the notebook's own origin, and the hub says who the viewer is:
// the view sends no token and no name. It asks `<prefix>api/me` first; a viewer who has not
// yet visited the service gets a "Sign in to chat" link that runs the hub's OAuth in a new tab
// (no confirm page) and lands on `<prefix>signed-in`; meanwhile the view keeps asking, and
// connects by itself once the hub knows the viewer.

export const SIGNED_IN_POLL_MS = 2000;

/**
 * The service's path prefix, ending in "/", from the server URL the kernel gave
 * (`http://hub:8000/services/talkex/` -> `/services/talkex/`). Only the path is kept: the
 * browser reaches the service through the page's own origin, whatever host the kernel uses.
 */
export function hubPrefix(serverUrl, base = globalThis.location?.href) {
  const path = new URL(serverUrl, base).pathname.replace(/\/+$/, "");
  return `${path}/`;
}

/** The URL that starts the hub's sign-in and comes back to a page saying it worked. */
export function signInUrl(prefix) {
  return `${prefix}login?next=${encodeURIComponent(`${prefix}signed-in`)}`;
}

/**
 * Who the hub says the viewer is: `{state: "in", name, displayName, groups}`,
 * `{state: "out", reason}` (not signed in to the service yet), `{state: "refused", reason}`
 * (signed in, no access), or `{state: "down", reason}` (no answer: try again later).
 */
export async function whoAmI(prefix, fetchImpl = globalThis.fetch) {
  let response;
  try {
    response = await fetchImpl(`${prefix}api/me`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    });
  } catch (error) {
    return { state: "down", reason: `the chat service did not answer (${error.message || error})` };
  }
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (response.status === 200 && typeof body.name === "string") {
    return {
      state: "in",
      name: body.name,
      displayName: typeof body.display_name === "string" ? body.display_name : body.name,
      groups: Array.isArray(body.groups) ? body.groups : [],
    };
  }
  const reason = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
  if (response.status === 401) return { state: "out", reason };
  if (response.status === 403) return { state: "refused", reason };
  return { state: "down", reason };
}

/**
 * Ask `whoAmI` until the viewer is signed in, calling `onChange(who)` at each new state.
 * Returns a function that stops asking.
 */
export function watchSignIn(prefix, onChange, { fetchImpl, pollMs = SIGNED_IN_POLL_MS } = {}) {
  let stopped = false;
  let timer = null;
  let last = null;
  const ask = async () => {
    const who = await whoAmI(prefix, fetchImpl);
    if (stopped) return;
    if (!last || last.state !== who.state || last.reason !== who.reason) onChange(who);
    last = who;
    if (who.state !== "in") timer = setTimeout(ask, pollMs);
  };
  ask();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
