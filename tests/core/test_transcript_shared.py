"""Shared results in a Markdown transcript (``talkex export``): a table stays a table, code a
fenced block in its language, a figure a note naming its attachment."""

from __future__ import annotations

from talkex_widget.core.messages import StoredMessage
from talkex_widget.core.transcript import render

AT = "2026-11-29T15:40:01.123Z"


def test_shared_results_read_as_markdown() -> None:
    table = {
        "kind": "table",
        "table": {
            "columns": ["region", "n"],
            "rows": [["no|rth", 1204], ["south", None]],
            "total_rows": 5,
            "total_columns": 2,
        },
    }
    figure = {
        "kind": "figure",
        "attachment": {"id": "a" * 22, "type": "image/png", "width": 30, "height": 20},
    }
    messages = [
        StoredMessage(1, "r", "ada", "sales", AT, content=table),
        StoredMessage(
            2, "r", "ada", "x = 1\nprint('```')", AT, content={"kind": "code", "language": "python"}
        ),
        StoredMessage(3, "r", "ada", "loss", AT, content=figure),
    ]
    text = render("r", messages, "markdown")
    assert "sales\n\n| region | n |\n| --- | --- |\n| no\\|rth | 1204 |\n| south |  |" in text
    assert "\n… 3 more rows" in text
    assert "````python\nx = 1\nprint('```')\n````" in text
    assert f"_[figure: loss · 30×20 image/png · attachment {'a' * 22}]_" in text
