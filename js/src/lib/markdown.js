// Message bodies as markdown: CommonMark with GFM tables, strikethrough and task lists
// (markdown-it), fenced code highlighted (./highlighting.js), and every result sanitized by
// DOMPurify before it reaches the page.
//
// Two walls, either enough on its own:
// - markdown-it never passes raw HTML through (html: false: `<b>` stays text) and makes a link
//   only of an http(s) or mailto address (entities and case are undone before the check).
// - DOMPurify keeps only the tags and attributes this renderer produces, and http(s)/mailto
//   addresses; every link opens in a new tab without `opener` or a referrer.
//
// Images are not shown: `![alt](https://...)` becomes a link to the image. A remote image
// would load as soon as anyone scrolls past it, telling its host who reads the room, when and
// from where (a tracking pixel); the page's CSP (img-src 'self' data:) blocks it anyway, and a
// widget in JupyterLab has no CSP at all. Figures come from the kernel as attachments instead.
import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";
import taskLists from "markdown-it-task-lists";
import { highlightCode } from "./highlighting.js";

const SAFE_URL_RE = /^(?:https?:|mailto:)/i;

const ALLOWED_TAGS = [
  "a", "blockquote", "br", "button", "code", "div", "em", "h1", "h2", "h3", "h4", "h5",
  "h6", "hr", "input", "li", "ol", "p", "pre", "s", "span", "strong", "table", "tbody", "td",
  "th", "thead", "tr", "ul",
];
const ALLOWED_ATTR = ["aria-label", "checked", "class", "disabled", "href", "start", "title", "type"];
const ALIGN_RE = /^text-align:(left|center|right)$/;

const md = new MarkdownIt({ html: false, linkify: true, breaks: true });
// Only links with a scheme: a fuzzy link would turn `train.py` or `df.to` into a website.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false });
md.validateLink = isSafeUrl;
md.use(taskLists);

// Table alignment as classes, so no `style` attribute needs to pass the sanitizer.
md.core.ruler.push("talkex_align", (state) => {
  for (const token of state.tokens) {
    if (token.type !== "th_open" && token.type !== "td_open") continue;
    const align = ALIGN_RE.exec(token.attrGet("style") || "");
    if (!align) continue;
    token.attrs = token.attrs.filter(([name]) => name !== "style");
    token.attrJoin("class", `tx-align-${align[1]}`);
  }
});

md.renderer.rules.table_open = () => '<div class="tx-table"><table>\n';
md.renderer.rules.table_close = () => "</table></div>\n";
md.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx];
  return codeBlock(token.content, md.utils.unescapeAll(token.info).trim().split(/\s+/)[0]);
};
md.renderer.rules.code_block = (tokens, idx) => codeBlock(tokens[idx].content, "");
md.renderer.rules.image = (tokens, idx, options, env, renderer) => {
  const token = tokens[idx];
  const src = token.attrGet("src");
  const label = md.utils.escapeHtml(renderer.renderInlineAsText(token.children, options, env) || src);
  const href = md.utils.escapeHtml(src);
  return `<a class="tx-image-link" href="${href}" title="image: ${href}">${label}</a>`;
};

/** Whether `url` may be a link's address: http(s) or mailto, nothing relative or scripted. */
export function isSafeUrl(url) {
  return SAFE_URL_RE.test(String(url).trim());
}

/** A code block: a head with the language and a copy button, then the (highlighted) code. */
function codeBlock(content, lang) {
  const code = content.replace(/\n$/, "");
  const highlighted = highlightCode(code, lang);
  const html = highlighted ? highlighted.html : md.utils.escapeHtml(code);
  const codeClass = highlighted ? ` class="hljs language-${highlighted.language}"` : "";
  return (
    '<div class="tx-code"><div class="tx-code-head">' +
    `<span class="tx-code-lang">${md.utils.escapeHtml(lang)}</span>` +
    '<button type="button" class="tx-copy" aria-label="Copy code">Copy</button></div>' +
    `<pre><code${codeClass}>${html}</code></pre></div>\n`
  );
}

let purifier = null;

function getPurifier() {
  if (purifier) return purifier;
  const instance = DOMPurify(globalThis.window);
  // DOMPurify returns its input untouched where it finds no DOM: never let that through.
  if (!instance.isSupported) throw new Error("rendering messages needs a DOM (window.document)");
  instance.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    } else if (node.tagName === "INPUT") {
      // Task-list boxes show a state; they are not a form.
      node.setAttribute("type", "checkbox");
      node.setAttribute("disabled", "");
    }
  });
  purifier = instance;
  return purifier;
}

/** A message body as sanitized HTML, ready for `dangerouslySetInnerHTML`. */
export function renderMarkdown(body) {
  return getPurifier().sanitize(md.render(String(body ?? "")).trim(), {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: SAFE_URL_RE,
    // Attributes whose values are words, not addresses (the URI check would drop them).
    ADD_URI_SAFE_ATTR: ["aria-label", "start", "type"],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  });
}
