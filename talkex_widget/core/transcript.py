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
            body = m.body.replace("\n", "  \n")  # keep line breaks inside one Markdown entry
            lines.append(f"**{_escape(m.author)}** · {m.sent_at}  \n{body}")
            lines.append("")
        return "\n".join(lines).rstrip("\n") + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _escape(text: str) -> str:
    """Nicknames are data, not markup: keep a nickname like ``*x*`` from styling the line."""
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)
