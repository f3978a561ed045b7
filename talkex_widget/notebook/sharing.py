"""Turn a kernel object (a DataFrame, an array, anything) into a message body.

Bodies are plain text; a fenced block (```) tells the UI to keep the columns aligned in a
monospace box. Objects are duck-typed (``to_string``) so pandas is not a dependency, and the
text is cut to fit the server's body limit with a visible note rather than refused.
"""

from __future__ import annotations

from typing import Any

from talkex_widget.core.rooms import DEFAULT_RULES

__all__ = ["format_share"]

FENCE = "```"


def format_share(obj: Any, caption: str | None = None, limit: int = DEFAULT_RULES.max_body) -> str:
    text = _render(obj).replace(FENCE, "`\u200b``")  # a fence inside would end the block early
    head = f"{caption.strip()}\n" if caption and caption.strip() else ""
    frame = len(head) + len(FENCE) * 2 + 2
    room = limit - frame
    if len(text) > room:
        note = "\n… (truncated)"
        cut = text[: max(0, room - len(note))]
        text = cut[: cut.rfind("\n")] if "\n" in cut else cut
        text += note
    return f"{head}{FENCE}\n{text}\n{FENCE}"


def _render(obj: Any) -> str:
    to_string = getattr(obj, "to_string", None)
    if callable(to_string):
        try:
            return str(to_string(max_rows=30, max_cols=12))  # pandas DataFrame / Series
        except TypeError:
            return str(to_string())
    return repr(obj) if not isinstance(obj, str) else obj
