"""The IPython extension in an in-process shell: %talkex, %chat, load and unload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from talkex_widget.notebook import discovery
from talkex_widget.notebook.embedded import ServerManager, ServerThread
from talkex_widget.notebook.widget import open_widgets

from ..jupyter_dirs import JupyterDirs
from .conftest import STANDALONE_TOKEN


@pytest.fixture
def shell(servers: ServerManager) -> Iterator[InteractiveShell]:
    ipython = InteractiveShell.instance()
    extensions = ipython.extension_manager
    assert extensions is not None
    extensions.load_extension("talkex_widget")
    yield ipython
    if "talkex_widget" in extensions.loaded:
        extensions.unload_extension("talkex_widget")


def magic(shell: InteractiveShell, line: str, capsys: pytest.CaptureFixture[str]) -> str:
    name, _, rest = line.partition(" ")
    shell.run_line_magic(name, rest)
    return capsys.readouterr().out


def test_status_serve_stop(
    shell: InteractiveShell,
    servers: ServerManager,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "No Talkex server yet" in magic(shell, "talkex", capsys)
    served = magic(shell, "talkex serve", capsys)
    info = servers.owned
    assert info is not None and info.token
    assert served.strip() == f"Talkex server: {info.url} (embedded in this kernel, pid {info.pid})"
    status = magic(shell, "talkex", capsys)
    assert "ok, version" in status and "No rooms open in this kernel" in status
    assert info.token not in status and str(discovery.runtime_file()) in status
    assert "Stopped" in magic(shell, "talkex stop", capsys)
    assert "runs no Talkex server" in magic(shell, "talkex stop", capsys)
    for bad in ("talkex start", "talkex serve now", "talkex connect"):
        assert "usage: %talkex" in magic(shell, bad, capsys)


def test_chat_shows_a_widget_and_talkex_lists_who_is_online(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    output = magic(shell, "chat design", capsys)
    assert "ChatWidget" in output  # no frontend here: the text/plain of the display
    (widget,) = open_widgets()
    assert widget.room == "design"
    status = magic(shell, "talkex", capsys)
    assert f"#design as {widget.nickname}: {widget.nickname} (online)" in status
    assert "usage: %chat" in magic(shell, "chat a b", capsys)


def test_connect(
    shell: InteractiveShell,
    standalone: ServerThread,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{standalone.port}/"
    out = magic(shell, f"talkex connect {url}?token={STANDALONE_TOKEN}", capsys)
    assert out.strip() == f"Talkex server: {url} (chosen with %talkex connect)"
    assert STANDALONE_TOKEN not in magic(shell, "talkex", capsys)
    assert "Not connected: not a Talkex server URL" in magic(shell, "talkex connect nope", capsys)


def test_unload_closes_widgets_and_stops_the_server(
    shell: InteractiveShell,
    servers: ServerManager,
    jupyter_dirs: JupyterDirs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    magic(shell, "chat", capsys)
    assert open_widgets() and discovery.runtime_file().exists()
    assert shell.extension_manager is not None
    shell.extension_manager.unload_extension("talkex_widget")
    assert not open_widgets()
    assert not discovery.runtime_file().exists() and servers.owned is None
    assert "talkex" not in shell.magics_manager.magics["line"]
    assert "chat" not in shell.magics_manager.magics["line"]
