"""share_payload: what a kernel object becomes (a table, a figure or code), checked against
the server's own rules (core.kinds) so what the kernel builds is what the server takes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from talkex_widget import ChatWidget
from talkex_widget.core.kinds import parse_post
from talkex_widget.core.rooms import RoomRules
from talkex_widget.notebook.sharing import Code, ShareError, share_payload
from tests.images import png
from tests.jupyter_dirs import REPO

from .threaded import wait_until


def taken(payload: dict[str, Any]) -> Any:
    return parse_post(payload, RoomRules())


def test_a_dataframe_becomes_a_capped_table_with_its_full_size() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({f"c{i}": range(120) for i in range(25)})
    frame["when"] = pd.Timestamp("2026-01-02")
    frame.loc[3, "c1"] = float("nan")
    payload = share_payload(frame, caption="results")
    table = payload["table"]
    assert payload["kind"] == "table" and payload["body"] == "results"
    assert len(table["columns"]) == 20 and len(table["rows"]) == 50
    assert (table["total_rows"], table["total_columns"]) == (120, 26)
    assert table["rows"][3][1] is None and table["rows"][0][0] == 0
    post = taken(payload)
    assert post.content["table"] == table and post.body == "results"


def test_a_series_and_a_named_index_keep_their_labels() -> None:
    pd = pytest.importorskip("pandas")
    series = pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], name="key"), name="value")
    table = share_payload(series)["table"]
    assert table["columns"] == ["key", "value"]
    assert table["rows"] == [["a", 1.5], ["b", 2.5]]
    assert taken(share_payload(series)).body == "table (2 rows × 2 columns)"


def test_a_matplotlib_figure_becomes_a_png_the_server_takes() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([1, 2, 3])
    payload = share_payload(figure, caption="loss")
    post = taken(payload)
    assert post.content["attachment"]["type"] == "image/png"
    assert post.attachment is not None and post.attachment.data.startswith(b"\x89PNG")
    assert post.body == "loss"


def test_anything_with_repr_png_is_a_figure_and_a_too_large_one_is_refused_early() -> None:
    class Picture:
        def _repr_png_(self) -> bytes:
            return png(5, 5)

    payload = share_payload(Picture())
    assert base64.b64decode(payload["image"]) == png(5, 5)
    assert taken(payload).content["attachment"]["width"] == 5
    with pytest.raises(ShareError, match="over the server's limit of 10"):
        share_payload(Picture(), limits={"max_attachment": 10})


def test_code_carries_its_language_and_long_text_is_cut_with_a_note() -> None:
    payload = share_payload("SELECT 1", language="sql", caption="query")
    assert payload == {"kind": "code", "body": "SELECT 1", "language": "sql", "caption": "query"}
    assert taken(payload).content == {"kind": "code", "language": "sql", "caption": "query"}
    assert share_payload(Code("x = 1"))["language"] == "python"
    long = share_payload("\n".join(f"line {i}" for i in range(2000)), limits={"max_body": 300})
    assert len(long["body"]) <= 300 and long["body"].endswith("… (truncated)")
    assert share_payload([1, 2]) == {"kind": "code", "body": "[1, 2]", "language": "text"}


def test_a_pil_image_is_a_figure() -> None:
    image_module = pytest.importorskip("PIL.Image")
    picture = image_module.new("RGB", (7, 4), "teal")
    post = taken(share_payload(picture, caption="swatch"))
    assert post.content["attachment"]["width"] == 7 and post.body == "swatch"


def test_code_is_at_the_package_top_for_notebooks() -> None:
    import talkex_widget

    assert talkex_widget.Code is Code


def test_a_figure_that_cannot_draw_itself_is_refused_with_what_to_install() -> None:
    class PlotlyWithoutKaleido:  # what plotly 7's to_image raises when kaleido is missing
        def to_image(self, format: str) -> bytes:
            raise RuntimeError("\nImage export requires the Kaleido package\n\n  $ pip install")

    with pytest.raises(ShareError, match=r"kaleido.*: Image export requires the Kaleido package$"):
        share_payload(PlotlyWithoutKaleido())


def plotly_figure() -> Any:
    go = pytest.importorskip("plotly.graph_objects")
    return go.Figure(go.Scatter(y=[1, 3, 2]), layout={"width": 420, "height": 300})


def test_a_plotly_figure_is_shared_as_a_png_through_kaleido(
    make_widget: Callable[..., ChatWidget],
) -> None:
    figure = plotly_figure()
    pytest.importorskip("kaleido")  # kaleido >= 1 drives the Chromium the browser tests use
    ada = make_widget(room="plots", nickname="ada")
    shared = ada.share(figure, caption="plotly")
    wait_until(lambda: any(m["id"] == shared for m in ada.messages), 15, "the shared figure")
    (message,) = [m for m in ada.messages if m["id"] == shared]
    assert (message["kind"], message["body"]) == ("figure", "plotly")
    attachment = message["attachment"]
    assert (attachment["type"], attachment["width"], attachment["height"]) == (
        "image/png",
        420,
        300,
    )


def refusal_in_a_fresh_python(*, hide_kaleido: bool = False, **env: str) -> str:
    """What ``share_payload`` of a plotly figure says in a new interpreter (plotly decides
    once per process whether kaleido is there, so an import hidden here would come too late)."""
    code = (
        ("import sys; sys.modules['kaleido'] = None\n" if hide_kaleido else "")
        + "import plotly.graph_objects as go\n"
        + "from talkex_widget.notebook.sharing import ShareError, share_payload\n"
        + "try:\n    share_payload(go.Figure(go.Scatter(y=[1, 2])))\n"
        + "except ShareError as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        check=True,
    )
    return done.stdout.strip()


def test_a_plotly_figure_without_kaleido_or_a_browser_says_which() -> None:
    plotly_figure()  # skips without plotly
    assert refusal_in_a_fresh_python(hide_kaleido=True).endswith(
        "(or plotly_get_chrome): Image export requires the Kaleido package, v1.0.0 or greater,"
    )
    pytest.importorskip("kaleido")
    no_browser = refusal_in_a_fresh_python(BROWSER_PATH="/nonexistent", PATH="/nonexistent")
    assert no_browser.endswith(
        "(or plotly_get_chrome): Kaleido requires Google Chrome to be installed."
    )
