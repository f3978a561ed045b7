from __future__ import annotations

from talkex_widget.notebook.sharing import format_share


class FakeFrame:
    """Stands for a pandas DataFrame: what matters is its ``to_string`` signature."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.asked: dict[str, int] = {}

    def to_string(self, max_rows: int, max_cols: int) -> str:
        self.asked = {"max_rows": max_rows, "max_cols": max_cols}
        shown = min(self.rows, max_rows)
        return "\n".join(["   a    b"] + [f"{i}  {i}.0  x{i}" for i in range(shown)])


def test_a_frame_becomes_a_fenced_block_with_a_caption() -> None:
    frame = FakeFrame(3)
    body = format_share(frame, caption="results")
    assert body == "results\n```\n   a    b\n0  0.0  x0\n1  1.0  x1\n2  2.0  x2\n```"
    assert frame.asked == {"max_rows": 30, "max_cols": 12}


def test_long_output_is_cut_on_a_line_with_a_note_and_fits_the_limit() -> None:
    body = format_share("\n".join(f"line {i}" for i in range(2000)), limit=300)
    assert len(body) <= 300
    assert body.endswith("… (truncated)\n```")
    assert "line 0\n" in body


def test_other_objects_use_repr_and_fences_inside_cannot_break_out() -> None:
    assert format_share([1, 2]) == "```\n[1, 2]\n```"
    body = format_share("```\n<b>x</b>")
    assert body.count("```") == 2
