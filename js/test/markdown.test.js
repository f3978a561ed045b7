// @vitest-environment jsdom
// jsdom parses HTML as browsers do (parse5); DOMPurify is tested against it upstream.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isSafeUrl, renderMarkdown } from "../src/lib/markdown.js";

/** The catalogue tests/browser/test_xss.py sends through a real page. */
const CATALOGUE = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../tests/browser/xss_catalogue.json"), "utf8"),
);

const TAGS = new Set(
  "A BLOCKQUOTE BR BUTTON CODE DIV EM H1 H2 H3 H4 H5 H6 HR INPUT LI OL P PRE S SPAN STRONG TABLE TBODY TD TH THEAD TR UL".split(
    " ",
  ),
);

function render(body) {
  const template = document.createElement("template");
  template.innerHTML = renderMarkdown(body);
  return template.content;
}

/** The text a reader sees in the body, code-block heads left out, whitespace collapsed. */
function shownText(fragment) {
  const copy = fragment.cloneNode(true);
  for (const head of copy.querySelectorAll(".tx-code-head")) head.remove();
  return copy.textContent.replace(/\s+/g, " ").trim();
}

describe("markdown features", () => {
  it("renders CommonMark emphasis, code, lists, quotes and headings", () => {
    const html = renderMarkdown("# Plan\n\n**bold** *it* `x = 1`\n\n1. one\n2. two\n\n> quoted");
    expect(html).toBe(
      "<h1>Plan</h1>\n<p><strong>bold</strong> <em>it</em> <code>x = 1</code></p>\n" +
        "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<blockquote>\n<p>quoted</p>\n</blockquote>",
    );
  });

  it("keeps single line breaks, as people type them in a chat", () => {
    expect(renderMarkdown("one\ntwo")).toBe("<p>one<br>\ntwo</p>");
  });

  it("renders GFM strikethrough and tables, alignment as classes", () => {
    expect(renderMarkdown("~~gone~~")).toBe("<p><s>gone</s></p>");
    const table = render("| name | n |\n| :-- | --: |\n| ann | 3 |");
    expect(table.querySelector(".tx-table > table")).not.toBeNull();
    expect([...table.querySelectorAll("th")].map((th) => th.className)).toEqual(["tx-align-left", "tx-align-right"]);
    expect(table.querySelector("td:last-child").textContent).toBe("3");
    expect(table.querySelector("[style]")).toBeNull();
  });

  it("renders task lists as disabled checkboxes", () => {
    const list = render("- [ ] draft\n- [x] review");
    const boxes = [...list.querySelectorAll("li.task-list-item input")];
    expect(boxes.map((box) => [box.type, box.disabled, box.checked])).toEqual([
      ["checkbox", true, false],
      ["checkbox", true, true],
    ]);
    expect(shownText(list)).toBe("draft review");
  });

  it("links bare http(s) addresses but not file names", () => {
    const doc = render("see https://example.com/a?b=1 and train.py or df.to");
    expect([...doc.querySelectorAll("a")].map((a) => a.getAttribute("href"))).toEqual(["https://example.com/a?b=1"]);
  });

  it("shows remote images as links to them, never as images", () => {
    const doc = render("![the plot](https://example.com/plot.png)");
    expect(doc.querySelector("img")).toBeNull();
    const link = doc.querySelector("a.tx-image-link");
    expect(link.getAttribute("href")).toBe("https://example.com/plot.png");
    expect(link.textContent).toBe("the plot");
  });
});

describe("links", () => {
  it("open in a new tab without opener or referrer", () => {
    const doc = render("[docs](https://example.com/docs) <https://example.com> [mail](mailto:ann@example.com)");
    const links = [...doc.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual([
      "https://example.com/docs",
      "https://example.com",
      "mailto:ann@example.com",
    ]);
    for (const a of links) {
      expect(a.getAttribute("target")).toBe("_blank");
      expect(a.getAttribute("rel")).toBe("noopener noreferrer");
    }
  });

  it("follow reference definitions", () => {
    expect(render("[the docs][1]\n\n[1]: https://example.com/x").querySelector("a").getAttribute("href")).toBe(
      "https://example.com/x",
    );
  });

  it("accept only http(s) and mailto addresses", () => {
    for (const url of ["https://x.org", "http://x.org", "MAILTO:a@b.c", " https://x.org"]) expect(isSafeUrl(url)).toBe(true);
    for (const url of ["javascript:alert(1)", "data:text/html,x", "/rooms/a", "//evil.org", "vbscript:x", "file:///etc"]) {
      expect(isSafeUrl(url)).toBe(false);
    }
    expect(render("[x](/rooms/other) [y](//evil.org)").querySelector("a")).toBeNull();
  });
});

describe("code blocks", () => {
  it("highlight the six registered languages, by name or alias", () => {
    for (const [lang, canonical] of [
      ["python", "python"],
      ["py", "python"],
      ["sql", "sql"],
      ["bash", "bash"],
      ["sh", "bash"],
      ["shell", "bash"],
      ["json", "json"],
      ["r", "r"],
      ["js", "javascript"],
    ]) {
      const code = render(`\`\`\`${lang}\nx <- "a" # note\n\`\`\``).querySelector("pre > code");
      expect(code.className, lang).toBe(`hljs language-${canonical}`);
      expect(code.querySelector("span[class^='hljs-']"), lang).not.toBeNull();
    }
  });

  it("mark Python tokens", () => {
    const code = render("```python\ndef fit(x):\n    return 'ok'  # done\n```").querySelector("code");
    expect(code.querySelector(".hljs-keyword").textContent).toBe("def");
    expect(code.querySelector(".hljs-string").textContent).toBe("'ok'");
    expect(code.querySelector(".hljs-comment").textContent).toBe("# done");
    expect(code.textContent).toBe("def fit(x):\n    return 'ok'  # done");
  });

  it("leave other languages and unlabelled blocks plain, columns intact", () => {
    for (const body of ["```text\n   a  b\n0  1  2\n```", "```\n   a  b\n0  1  2\n```", "    indented\n    code"]) {
      const code = render(body).querySelector("pre > code");
      expect(code.className).toBe("");
      expect(code.children.length).toBe(0);
    }
    expect(render("```text\n   a  b\n0  1  2\n```").querySelector("code").textContent).toBe("   a  b\n0  1  2");
  });

  it("carry a language label and a copy button", () => {
    const block = render("```sql\nselect 1\n```").querySelector(".tx-code");
    expect(block.querySelector(".tx-code-lang").textContent).toBe("sql");
    const button = block.querySelector("button.tx-copy");
    expect(button.getAttribute("type")).toBe("button");
    expect(button.getAttribute("aria-label")).toBe("Copy code");
    expect(button.textContent).toBe("Copy");
  });
});

describe("sanitizing: the XSS catalogue", () => {
  it.each(CATALOGUE.map((c) => [c.body, c]))("%s stays text", (_, { body, text }) => {
    const doc = render(body);
    for (const el of doc.querySelectorAll("*")) {
      expect(TAGS.has(el.tagName), el.tagName).toBe(true);
      for (const attr of el.attributes) expect(attr.name.startsWith("on"), attr.name).toBe(false);
      expect(el.hasAttribute("style") || el.hasAttribute("src")).toBe(false);
    }
    for (const a of doc.querySelectorAll("a")) expect(a.getAttribute("href")).toMatch(/^(https?:|mailto:)/);
    for (const input of doc.querySelectorAll("input")) expect([input.type, input.disabled]).toEqual(["checkbox", true]);
    expect(shownText(doc)).toBe((text ?? body).replace(/\s+/g, " ").trim());
  });

  it("turns no HTML into markup, even where markdown-it would pass it", () => {
    expect(renderMarkdown("<b>x</b>")).toBe("<p>&lt;b&gt;x&lt;/b&gt;</p>");
    expect(renderMarkdown("<div>\nblock\n</div>")).toBe("<p>&lt;div&gt;<br>\nblock<br>\n&lt;/div&gt;</p>");
  });
});
