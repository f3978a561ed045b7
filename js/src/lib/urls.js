/**
 * The phoenix endpoint for a Talkex server URL:
 * `http://host:port[/prefix]` -> `ws://host:port[/prefix]/socket` (https -> wss).
 */
export function socketEndPoint(serverUrl, base = globalThis.location?.href) {
  const url = new URL(serverUrl, base);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}/socket`;
}
