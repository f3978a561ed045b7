// Shared results from a kernel (kinds table, code, figure): checks and shapes for the UI.
//
// The server checked these messages already; the view checks again what it relies on
// (a table's shape, an image's type) because a message is data from other people.

const IMAGE_TYPES = new Set(["image/png", "image/jpeg"]);

/** The message's kind when the UI can show it as such, else "text" (its body as markdown). */
export function sharedKind(message) {
  const kind = message && message.kind;
  if (kind === "table") return isTable(message.table) ? "table" : "text";
  if (kind === "figure") return isAttachment(message.attachment) ? "figure" : "text";
  if (kind === "code") return "code";
  return "text";
}

function isTable(table) {
  return (
    !!table &&
    Array.isArray(table.columns) &&
    Array.isArray(table.rows) &&
    table.rows.every((row) => Array.isArray(row) && row.length === table.columns.length)
  );
}

function isAttachment(meta) {
  return !!meta && typeof meta.id === "string" && IMAGE_TYPES.has(meta.type);
}

/** What a cell shows: empty for null (pandas' NaN), the value's text otherwise. */
export function cellText(value) {
  return value === null || value === undefined ? "" : String(value);
}

/** "… 70 more rows, 6 more columns" when the table was cut, else null. */
export function moreNote(table) {
  const rows = (table.total_rows ?? table.rows.length) - table.rows.length;
  const columns = (table.total_columns ?? table.columns.length) - table.columns.length;
  const parts = [];
  if (rows > 0) parts.push(`${rows} more row${rows === 1 ? "" : "s"}`);
  if (columns > 0) parts.push(`${columns} more column${columns === 1 ? "" : "s"}`);
  return parts.length ? `… ${parts.join(", ")}` : null;
}

/** The table as tab-separated values, a header line then one line per row (for pasting
 * into a spreadsheet). Tabs and line breaks inside cells become spaces. */
export function tableToTsv(table) {
  const clean = (value) => cellText(value).replace(/[\t\r\n]+/g, " ");
  return [table.columns, ...table.rows].map((row) => row.map(clean).join("\t")).join("\n");
}

/** A fenced block of `source` in `language` whose fence no line of the source can close. */
export function codeFence(source, language) {
  const longest = Math.max(2, ...(String(source).match(/`+/g) || []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const lang = /^[A-Za-z0-9_+#.-]{1,32}$/.test(language || "") ? language : "";
  return `${fence}${lang}\n${source}\n${fence}`;
}

/** A `data:` URL for an `attachment` reply, only for the image types the server proves. */
export function imageSource(reply) {
  if (!reply || !IMAGE_TYPES.has(reply.type) || typeof reply.data !== "string") return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(reply.data)) return null;
  return `data:${reply.type};base64,${reply.data}`;
}

const cache = new Map();

/**
 * The image of attachment `id` as a `data:` URL, fetched once over the room's channel
 * (the `attachment` push); rejects with the server's reason. Failures are not cached.
 */
export function fetchAttachment(channel, id) {
  if (cache.has(id)) return cache.get(id);
  const loading = new Promise((resolve, reject) => {
    if (!channel) {
      reject(new Error("not connected"));
      return;
    }
    channel
      .push("attachment", { id })
      .receive("ok", (reply) => {
        const src = imageSource(reply);
        if (src) resolve(src);
        else reject(new Error("not an image"));
      })
      .receive("error", (reply) => reject(new Error((reply && reply.reason) || "refused")))
      .receive("timeout", () => reject(new Error("timed out")));
  });
  cache.set(id, loading);
  loading.catch(() => cache.delete(id));
  return loading;
}
