"""A room's transcript as Markdown (to read or paste) or JSON (to process)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from talkex_widget.core.messages import StoredMessage

__all__ = ["FORMATS", "render"]

FORMATS = ("markdown", "json")


def render(room: str, messages: Sequence[StoredMessage], fmt: str) -> str:
    if fmt == "json":
        data = {"room": room, "messages": [m.to_wire() for m in messages]}
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "markdown":
        lines = [f"# Talkex transcript: {room}", ""]
        if not messages:
            lines.append("_No messages._")
        for m in messages:
            head = f"**{_escape(m.author)}** · {m.sent_at}  \n"
            shared = _shared(m)
            if shared is not None:
                lines.append(head + shared)
            else:
                body = m.body.replace("\n", "  \n")  # keep line breaks inside one entry
                lines.append(head + body)
            lines.append("")
        return "\n".join(lines).rstrip("\n") + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _shared(m: StoredMessage) -> str | None:
    """A shared result as Markdown readers know it: a table, a fenced block, a figure note.

    The transcript is a file of its own, so a figure is named (with its attachment id, to
    fetch from ``/api/rooms/<room>/attachments/<id>``) rather than embedded.
    """
    content = m.content or {}
    kind = content.get("kind")
    if kind == "code":
        fence = "`" * max(3, _longest_backtick_run(m.body) + 1)
        caption = f"{content['caption']}\n" if content.get("caption") else ""
        return f"{caption}{fence}{content.get('language', '')}\n{m.body}\n{fence}"
    if kind == "table":
        table = content["table"]
        rows = [table["columns"], ["---"] * len(table["columns"]), *table["rows"]]
        lines = [m.body, ""] + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
        more = table["total_rows"] - len(table["rows"])
        if more > 0:
            lines.append(f"\n… {more} more rows")
        return "\n".join(lines)
    if kind == "figure":
        meta = content["attachment"]
        return (
            f"_[figure: {m.body} · {meta['width']}×{meta['height']} {meta['type']} · "
            f"attachment {meta['id']}]_"
        )
    return None


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def _escape(text: str) -> str:
    """Nicknames are data, not markup: keep a nickname like ``*x*`` from styling the line."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)
