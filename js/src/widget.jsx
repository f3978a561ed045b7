// The anywidget view of ChatWidget. Traits: room, nickname, status (two-way), server_url.
// The token is no trait: the view says {kind: "hello", view} and the kernel answers
// {kind: "config", view, token, server_url}. Each render is an independent view with its own
// id, socket and transport (direct WebSocket, or the comm relay when that cannot open).
// On a JupyterHub the kernel answers {kind: "config", view, server_url, hub: true} and no
// token: the view reaches the hub's Talkex service through the page's own origin as the person
// viewing it (their hub login), offers "Sign in to chat" until the service knows them, and
// never uses the relay (the kernel would speak as its owner).
// `host: "notebook"` in the config says a kernel hosts the server: when it stays unreachable
// the view says the notebook stopped (lib/outage.js) and keeps retrying underneath.
// In a Jupyter page whose server has the Talkex extension, the view first asks it who the
// viewer is (lib/jupyter.js) and chats as that person, with the token the extension signed;
// its socket goes direct, else through the Jupyter route, else through the relay.
import { createRoot } from "react-dom/client";
import { Alert } from "./components/Alert.jsx";
import { RoomView } from "./components/RoomView.jsx";
import { SignIn } from "./components/SignIn.jsx";
import { hubPrefix, watchSignIn } from "./lib/hub.js";
import { randomId } from "./lib/ids.js";
import { fetchViewer, jupyterBaseUrl, keepViewer, routeSocketUrl } from "./lib/jupyter.js";
import { ChatSession } from "./lib/session.js";
import { createTransports } from "./lib/transport.js";
import { socketEndPoint } from "./lib/urls.js";
import { isStatus, nicknameError, roomError } from "./lib/validate.js";

const HELLO_RETRY_MS = 2000;
const HELLO_TRIES = 5;

function render({ model, el }) {
  const view = randomId();
  const container = document.createElement("div");
  container.className = "talkex talkex-widget";
  container.dataset.view = view;
  el.appendChild(container);
  const root = createRoot(container);

  const baseUrl = jupyterBaseUrl();
  let route = null; // the Jupyter route's base URL, once it leads to this widget's server
  const transports = createTransports({
    view,
    send: (msg) => model.send(msg),
    WebSocketImpl: typeof WebSocket === "function" ? WebSocket : null,
    routeUrl: (url) => (route ? routeSocketUrl(url, route) : null),
    onMode: (mode) => {
      container.dataset.transport = mode;
    },
  });

  let config = null;
  let session = null;
  let stopWatching = null;
  let stopKeeping = null;
  let closed = false;
  let starts = 0;

  const draw = (content) => root.render(content);

  const pickStatus = (status) => {
    if (!session || !isStatus(status)) return;
    session.setStatus(status);
    if (model.get("status") !== status) {
      model.set("status", status);
      model.save_changes();
    }
  };

  const restart = () => {
    if (closed) return;
    if (session) session.disconnect();
    session = null;
    starts += 1;
    if (stopWatching) stopWatching();
    stopWatching = null;
    if (stopKeeping) stopKeeping();
    stopKeeping = null;
    const room = model.get("room") || "";
    const nickname = model.get("nickname") || "";
    const problem = roomError(room) || nicknameError(nickname);
    if (problem) {
      draw(<Alert>{problem}</Alert>);
      return;
    }
    if (!config) {
      draw(<div className="tx-waiting">Connecting to the kernel…</div>);
      return;
    }
    const serverUrl = config.server_url || model.get("server_url");
    if (!serverUrl) {
      draw(<Alert>no Talkex server URL: start one with the %talkex magic or pass server_url</Alert>);
      return;
    }
    const status = model.get("status");
    if (config.hub) {
      startOnHub(room, isStatus(status) ? status : "online", hubPrefix(serverUrl));
      return;
    }
    if (baseUrl) {
      startAsViewer(room, nickname, isStatus(status) ? status : "online", serverUrl);
      return;
    }
    startSession(room, nickname, isStatus(status) ? status : "online", serverUrl, config.token);
  };

  const startSession = (room, nickname, status, serverUrl, token) => {
    session = new ChatSession({
      room,
      nickname,
      status,
      endPoint: socketEndPoint(serverUrl),
      params: token ? { token } : {},
      socketOptions: { transport: transports.Transport },
      host: config.host,
    });
    session.connect();
    draw(<RoomView key={randomId()} session={session} onStatusChange={pickStatus} />);
  };

  // Ask the Jupyter extension who is viewing; without it (or for another server than the one
  // it routes to) the view keeps the kernel's config.
  const startAsViewer = async (room, nickname, status, serverUrl) => {
    const start = starts;
    draw(<div className="tx-waiting">Connecting…</div>);
    const viewer = await fetchViewer(baseUrl, nickname);
    if (closed || start !== starts) return;
    const ours = viewer !== null && viewer.serverUrl === serverUrl;
    route = ours ? baseUrl : null;
    if (!ours) {
      startSession(room, nickname, status, serverUrl, config.token);
      return;
    }
    startSession(room, viewer.nickname, status, serverUrl, viewer.token);
    // phoenix reads the session's params object at each (re)connect: keep its token fresh.
    stopKeeping = keepViewer(baseUrl, viewer, (fresh) => {
      if (session) session.params.token = fresh.token;
    });
  };

  // Ask the service who the viewer is; join as that person once the hub has said.
  const startOnHub = (room, status, prefix) => {
    stopWatching = watchSignIn(prefix, (who) => {
      if (closed) return;
      if (who.state !== "in") {
        draw(<SignIn prefix={prefix} who={who} />);
        return;
      }
      session = new ChatSession({ room, nickname: who.name, status, endPoint: `${prefix}socket` });
      session.connect();
      draw(<RoomView key={randomId()} session={session} onStatusChange={pickStatus} />);
    });
  };

  const onCustom = (msg) => {
    if (!msg || msg.view !== view) return;
    if (transports.handle(msg)) return;
    if (msg.kind === "config") {
      const next = {
        token: msg.token || null,
        server_url: msg.server_url || null,
        hub: msg.hub === true,
        host: typeof msg.host === "string" ? msg.host : null,
      };
      const same =
        config &&
        config.token === next.token &&
        config.server_url === next.server_url &&
        config.hub === next.hub &&
        config.host === next.host;
      config = next;
      clearInterval(helloTimer);
      if (!same) restart();
    }
  };

  const onStatusTrait = () => {
    const status = model.get("status");
    if (session && isStatus(status)) session.setStatus(status);
  };

  model.on("msg:custom", onCustom);
  model.on("change:room", restart);
  model.on("change:nickname", restart);
  model.on("change:server_url", restart);
  model.on("change:status", onStatusTrait);

  restart();
  let tries = 0;
  const hello = () => {
    tries += 1;
    if (tries > HELLO_TRIES) clearInterval(helloTimer);
    // The page's origin lets the kernel vouch for it, so the server accepts the direct socket.
    else model.send({ kind: "hello", view, origin: window.location.origin });
  };
  const helloTimer = setInterval(hello, HELLO_RETRY_MS);
  hello();

  return () => {
    closed = true;
    clearInterval(helloTimer);
    model.off("msg:custom", onCustom);
    model.off("change:room", restart);
    model.off("change:nickname", restart);
    model.off("change:server_url", restart);
    model.off("change:status", onStatusTrait);
    if (session) session.disconnect();
    session = null;
    if (stopWatching) stopWatching();
    if (stopKeeping) stopKeeping();
    root.unmount();
    container.remove();
  };
}

export default { render };
