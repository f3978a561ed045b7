// A message body as segments of prose and fenced code (```), so a table posted from a kernel
// (ChatWidget.share(df)) keeps its columns. Both kinds render as text nodes: no markup is ever
// interpreted, only the fences choose a monospace block.

/** "a\n```\nx  y\n```\nb" -> [{kind: "text", text: "a\n"}, {kind: "code", text: "x  y"}, ...] */
export function splitFences(body) {
  const segments = [];
  const fence = /```[^\n`]*\n([\s\S]*?)\n?```/g;
  let last = 0;
  for (const match of body.matchAll(fence)) {
    if (match.index > last) segments.push({ kind: "text", text: body.slice(last, match.index) });
    segments.push({ kind: "code", text: match[1] });
    last = match.index + match[0].length;
  }
  if (last < body.length) segments.push({ kind: "text", text: body.slice(last) });
  return segments.length ? segments : [{ kind: "text", text: body }];
}
