// Syntax highlighting for fenced code in messages: highlight.js core with the six languages
// notebook people paste most (Python, SQL, bash, JSON, R, JavaScript) and nothing else, which
// keeps the bundle small. No guessing: a block is highlighted only when its fence names a
// language, so a table shared as ```text keeps its plain columns.
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import r from "highlight.js/lib/languages/r";
import sql from "highlight.js/lib/languages/sql";

const highlighter = hljs.newInstance();
for (const [name, language] of Object.entries({ bash, javascript, json, python, r, sql })) {
  highlighter.registerLanguage(name, language);
}
highlighter.registerAliases(["shell", "console"], { languageName: "bash" });

/**
 * `code` as highlighted HTML (text escaped, tokens in `<span class="hljs-...">`) and the
 * language's canonical name, or null when `lang` is not one of the registered languages.
 */
export function highlightCode(code, lang) {
  const language = lang ? highlighter.getLanguage(lang) : undefined;
  if (!language) return null;
  const name = highlighter.listLanguages().find((key) => highlighter.getLanguage(key) === language);
  return { html: highlighter.highlight(code, { language: name, ignoreIllegals: true }).value, language: name };
}
