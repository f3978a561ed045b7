"""Turn a kernel object into a shared result: a table, a figure or a code block.

``ChatWidget.share`` posts what this builds as one ``new_msg`` push of the kind
(:mod:`talkex_widget.core.kinds`), so the chat shows a real table, an image or highlighted
code rather than text that happens to line up. Objects are duck-typed, so neither pandas nor
matplotlib is a dependency:

* a DataFrame (``shape``, ``columns``, ``iloc``) or a Series (``to_frame``): a **table** of at
  most :data:`~talkex_widget.core.kinds.MAX_TABLE_ROWS` ×
  :data:`~talkex_widget.core.kinds.MAX_TABLE_COLUMNS`, with the full size for "… more";
* a matplotlib figure (``savefig``), anything with ``_repr_png_`` (PIL images, IPython
  images) or a plotly figure (``to_image``, which needs kaleido): a **figure**, as PNG;
* a string, :class:`Code`, or anything else (its ``to_string`` or ``repr``): a **code** block,
  cut to the server's body limit with a visible note.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import math
from dataclasses import dataclass
from typing import Any

from talkex_widget.core.kinds import MAX_CELL, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS
from talkex_widget.core.rooms import DEFAULT_RULES

__all__ = ["Code", "ShareError", "share_payload"]

TRUNCATED = "… (truncated)"


class ShareError(ValueError):
    """The object cannot be shared as asked; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class Code:
    """Source code to share with its language: ``chat.share(Code(sql, "sql"))``.

    :meth:`previous_cell` takes the source of the cell run before the current one.
    """

    source: str
    language: str = "python"

    @classmethod
    def previous_cell(cls) -> Code:
        """The previous cell's source (IPython's ``In[-2]``: ``In[-1]`` is this cell)."""
        from IPython import get_ipython

        shell = get_ipython()
        inputs = shell.user_ns.get("In", []) if shell is not None else []
        if len(inputs) < 2:
            raise ShareError("no previous cell to share")
        return cls(str(inputs[-2]))


def share_payload(
    obj: Any,
    caption: str | None = None,
    language: str | None = None,
    limits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``new_msg`` payload that shares ``obj`` (see the module docstring)."""
    limits = limits or {}
    max_body = _positive(limits.get("max_body"), DEFAULT_RULES.max_body)
    caption = caption.strip() if caption and caption.strip() else None
    if _is_table(obj):
        payload: dict[str, Any] = {"kind": "table", "table": table_of(obj)}
    elif _is_figure(obj):
        max_attachment = _positive(limits.get("max_attachment"), DEFAULT_RULES.max_attachment)
        payload = {"kind": "figure", "image": _png_base64(obj, max_attachment)}
    else:
        if isinstance(obj, Code):
            source, lang = obj.source, obj.language
        else:
            source, lang = _text(obj), "python" if isinstance(obj, str) else "text"
        payload = {"kind": "code", "body": _fit(source, max_body), "language": language or lang}
        if caption:
            payload["caption"] = caption[:MAX_CELL]
        return payload
    if caption:
        payload["body"] = caption
    return payload


def table_of(frame: Any) -> dict[str, Any]:
    """Columns and rows of the first rows × columns, and the full size."""
    if hasattr(frame, "to_frame") and not hasattr(frame, "columns"):
        frame = frame.to_frame()
    total_rows, total_columns = (int(n) for n in frame.shape)
    if type(frame.index).__name__ != "RangeIndex":  # a meaningful index is a column to read
        frame = frame.reset_index()
    part = frame.iloc[:MAX_TABLE_ROWS, :MAX_TABLE_COLUMNS]
    return {
        "columns": [_cell_text(name) for name in part.columns],
        "rows": [[_cell(v) for v in row] for row in part.itertuples(index=False, name=None)],
        "total_rows": max(total_rows, len(part)),
        "total_columns": max(total_columns, len(part.columns)),
    }


def _is_table(obj: Any) -> bool:
    if hasattr(obj, "shape") and hasattr(obj, "columns") and hasattr(obj, "iloc"):
        return True
    return hasattr(obj, "to_frame") and hasattr(obj, "iloc")


def _is_figure(obj: Any) -> bool:
    return any(hasattr(obj, name) for name in ("savefig", "_repr_png_", "to_image"))


def _png_base64(obj: Any, max_attachment: int) -> str:
    if hasattr(obj, "savefig"):  # matplotlib: draw it now, at a chat-friendly size
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        data = buffer.getvalue()
    elif hasattr(obj, "_repr_png_"):
        data = obj._repr_png_()
    else:
        try:
            data = obj.to_image(format="png")
        except (ValueError, ImportError, RuntimeError) as exc:
            # plotly 6/7 raise RuntimeError (or ValueError) with a page of advice when kaleido
            # or the browser kaleido drives is missing: its first line says which.
            reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
            raise ShareError(
                "cannot draw this figure as PNG: plotly draws through kaleido "
                '(pip install "kaleido>=1"), which needs Chrome or Chromium on the PATH '
                f"(or plotly_get_chrome){': ' + reason if reason else ''}"
            ) from exc
    if not isinstance(data, bytes) or not data:
        raise ShareError("the object drew no PNG image")
    if len(data) > max_attachment:
        raise ShareError(
            f"the image is {len(data):,} bytes, over the server's limit of {max_attachment:,}: "
            "make the figure smaller (figsize, dpi) or ask for a larger --max-attachment"
        )
    return base64.b64encode(data).decode("ascii")


def _text(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    to_string = getattr(obj, "to_string", None)
    if callable(to_string):
        try:
            return str(to_string(max_rows=30, max_cols=12))
        except TypeError:
            return str(to_string())
    return repr(obj)


def _fit(text: str, limit: int) -> str:
    """Cut on a line boundary with a visible note, rather than be refused."""
    text = text.strip("\n").rstrip() or "(empty)"
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(TRUNCATED) - 1)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return f"{cut}\n{TRUNCATED}"


def _cell(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and not isinstance(value, str):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if value is None or isinstance(value, bool | int | str):
        return value if not isinstance(value, str) else value[:MAX_CELL]
    if isinstance(value, float):
        return value if math.isfinite(value) else None if math.isnan(value) else str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    text = str(value)
    return None if text in ("NaT", "<NA>", "nan") else text[:MAX_CELL]


def _cell_text(value: Any) -> str:
    return str(value)[:MAX_CELL]


def _positive(value: Any, default: int) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else default
