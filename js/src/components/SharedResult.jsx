import { createContext, useContext, useEffect, useMemo, useState } from "react";
import { renderMarkdown } from "../lib/markdown.js";
import { cellText, codeFence, fetchAttachment, moreNote, sharedKind, tableToTsv } from "../lib/shared.js";

/** The room's session, for fetching images over its channel (RoomView provides it). */
export const SharedSource = createContext(null);

/** A shared result (table, figure or code) in place of a markdown body, or null for text. */
export function SharedResult({ message, onCodeClick }) {
  const kind = sharedKind(message);
  if (kind === "table") return <TableMessage message={message} />;
  if (kind === "figure") return <FigureMessage message={message} />;
  if (kind === "code") return <CodeMessage message={message} onClick={onCodeClick} />;
  return null;
}

function Caption({ text }) {
  return text ? (
    <div className="tx-shared-caption" dir="auto">
      {text}
    </div>
  ) : null;
}

function TableMessage({ message }) {
  const { table } = message;
  const [copied, setCopied] = useState(false);
  const more = moreNote(table);
  const copy = () => {
    const clipboard = globalThis.navigator?.clipboard;
    if (!clipboard?.writeText) return;
    clipboard.writeText(tableToTsv(table)).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    });
  };
  return (
    <div className="tx-shared tx-shared-table">
      <Caption text={message.body} />
      <div className="tx-table-scroll">
        <table>
          <thead>
            <tr>
              {table.columns.map((name, i) => (
                <th key={i}>{cellText(name)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, r) => (
              <tr key={r}>
                {row.map((value, c) => (
                  <td key={c} className={typeof value === "number" ? "tx-num" : undefined}>
                    {cellText(value)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="tx-shared-foot">
        {more && <span className="tx-more">{more}</span>}
        <button type="button" className="tx-copy-tsv" onClick={copy} aria-label="Copy table as TSV">
          {copied ? "Copied" : "Copy TSV"}
        </button>
      </div>
    </div>
  );
}

function FigureMessage({ message }) {
  const session = useContext(SharedSource);
  const meta = message.attachment;
  const [src, setSrc] = useState(null);
  const [error, setError] = useState(null);
  const [large, setLarge] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    fetchAttachment(session?.channel, meta.id).then(
      (url) => live && setSrc(url),
      (err) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [session, meta.id, attempt]);
  const alt = message.body || "figure";
  return (
    <figure className="tx-shared tx-shared-figure">
      {src ? (
        <button type="button" className="tx-figure-open" onClick={() => setLarge(true)} title="Enlarge">
          <img src={src} alt={alt} width={meta.width} height={meta.height} />
        </button>
      ) : (
        <div className="tx-figure-wait">
          {error ? `image unavailable: ${error} ` : "loading image…"}
          {error && (
            <button type="button" className="tx-copy-tsv" onClick={() => setAttempt((n) => n + 1)}>
              Retry
            </button>
          )}
        </div>
      )}
      <figcaption dir="auto">{message.body}</figcaption>
      {large && src && (
        <div className="tx-lightbox" role="dialog" aria-label={alt} onClick={() => setLarge(false)}>
          <img src={src} alt={alt} />
        </div>
      )}
    </figure>
  );
}

function CodeMessage({ message, onClick }) {
  const html = useMemo(() => renderMarkdown(codeFence(message.body, message.language)), [message]);
  return (
    <div className="tx-shared tx-shared-code">
      <Caption text={message.caption} />
      <div className="tx-body" onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />
    </div>
  );
}
