"""``ChatWidget``: a Talkex room in a notebook, for the people at the screen and for code.

The view (``static/widget.js``) talks to the server over its own WebSocket, or through the
kernel (:mod:`.relay`) when it cannot reach the server. The Python side keeps its own
:class:`~.client.RoomClient` for :meth:`ChatWidget.send`, :attr:`~ChatWidget.messages`,
:attr:`~ChatWidget.presence`, :meth:`~ChatWidget.on_message` and :meth:`~ChatWidget.history`.
That client runs on the background loop of :mod:`.embedded`, so it goes on receiving while a
cell computes; the methods here wait for it from the kernel thread with a timeout.

The token is never a trait: traits are saved with the notebook. Each view asks for it with a
``{kind: "hello", view}`` custom message and the kernel answers ``{kind: "config", view, token,
server_url}``; the answer lives only in the browser's memory.
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import json
import logging
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from tornado.httpclient import AsyncHTTPClient

from talkex_widget.client import RoomClient, Socket
from talkex_widget.core.rooms import DEFAULT_RULES, STATUSES, RoomError
from talkex_widget.notebook.discovery import ServerInfo, parse_server_url
from talkex_widget.notebook.embedded import LoopThread, manager
from talkex_widget.notebook.relay import RelayHub
from talkex_widget.notebook.sharing import format_share

__all__ = ["ChatWidget", "default_nickname", "open_widgets"]

log = logging.getLogger("talkex.widget")

STATIC = Path(__file__).parents[1] / "static"
DEFAULT_TIMEOUT = 10.0

MessageCallback = Callable[[dict[str, Any]], object]

_widgets: weakref.WeakSet[ChatWidget] = weakref.WeakSet()
_serials = itertools.count(1)
_callbacks: ThreadPoolExecutor | None = None
_callbacks_lock = threading.Lock()


def default_nickname() -> str:
    """``JUPYTERHUB_USER`` on a hub, else the login name of the kernel's user."""
    hub_user = os.environ.get("JUPYTERHUB_USER", "").strip()
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "anonymous"


def open_widgets() -> list[ChatWidget]:
    """The chat widgets of this kernel that are not closed, oldest first."""
    return sorted(_widgets, key=lambda w: w._serial)


def _callback_runner() -> ThreadPoolExecutor:
    """One worker thread for every ``on_message`` callback, in arrival order.

    Not the background loop: a callback may call the blocking API (``send``) without
    deadlocking the loop that has to do the sending.
    """
    global _callbacks
    with _callbacks_lock:
        if _callbacks is None:
            _callbacks = ThreadPoolExecutor(1, thread_name_prefix="talkex-callbacks")
        return _callbacks


class _RoomLink:
    """The widget's own connection: a :class:`Socket` and a :class:`RoomClient`, on the loop.

    ``on_message`` gets messages that arrive after the first join (new ones, and those missed
    during a reconnect), not the history the first join brings.
    """

    def __init__(
        self, info: ServerInfo, nickname: str, room: str, status: str, on_message: MessageCallback
    ) -> None:
        params = {"nickname": nickname}
        if info.token:
            params["token"] = info.token
        self.socket = Socket(info.url, params)
        self.client = RoomClient(self.socket, room, status=status)
        self.nickname = nickname
        self._on_message = on_message
        self._early: list[dict[str, Any]] | None = []
        self._present = asyncio.Event()
        self.client.on_message.append(self._received)
        self.client.channel.on_join.append(self._first_join)
        self.client.presence.on_sync.append(self._synced)

    async def open(self, timeout: float) -> None:
        """Connect, join, and wait until the room lists us: then ``presence`` is complete."""
        self.socket.timeout = timeout
        await self.socket.connect()
        await self.client.join(timeout)
        await asyncio.wait_for(self._present.wait(), timeout)

    def _synced(self) -> None:
        if self.nickname in self.client.presence.state:
            self._present.set()

    def _received(self, message: dict[str, Any]) -> None:
        if self._early is not None:
            self._early.append(message)
        else:
            self._on_message(message)

    def _first_join(self, response: dict[str, Any]) -> None:
        if self._early is None:
            return
        initial = {m.get("id") for m in response.get("messages", [])}
        early, self._early = self._early, None
        for message in early:
            if message.get("id") not in initial:
                self._on_message(message)

    async def set_status(self, status: str, activity: str | None = None) -> None:
        await self.client.set_status(status, activity)

    async def close(self) -> None:
        await self.socket.disconnect()


def _check(rule: Callable[[Any], str], value: Any) -> str:
    try:
        return rule(value)
    except RoomError as exc:
        raise traitlets.TraitError(exc.reason) from None


class ChatWidget(anywidget.AnyWidget):
    """A chat room in a notebook.

    ``ChatWidget(room="lobby")`` shows the room and joins it from Python too. ``nickname``
    defaults to :func:`default_nickname`; ``server`` (``http://HOST:PORT/?token=T``) picks a
    server, else the kernel's current one is used (``TALKEX_URL``, a server another kernel
    runs, or a new embedded one: see :class:`~.embedded.ServerManager`).

    Traits ``room``, ``nickname``, ``status`` and ``server_url`` are synced with the views:
    set them from Python and the views rejoin or change status; a view's status menu sets
    ``status`` here. ``server_url`` is the server's http address and never holds the token.
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "talkex.css"

    room = traitlets.Unicode("lobby").tag(sync=True)
    nickname = traitlets.Unicode().tag(sync=True)
    status = traitlets.Enum(STATUSES, default_value="online").tag(sync=True)
    server_url = traitlets.Unicode().tag(sync=True)
    busy_while_running = traitlets.Bool(True).tag(sync=True)
    """While a cell runs, this notebook's presence says ``busy`` with the cell's first line."""

    def __init__(
        self,
        room: str = "lobby",
        nickname: str | None = None,
        server: str | None = None,
        *,
        status: str = "online",
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        servers = manager()
        info = parse_server_url(server) if server else servers.server()
        assert info is not None
        self._server = info
        self._timeout = timeout
        self._active = False
        self._moving = False
        self._link: _RoomLink | None = None
        self._loop: LoopThread = servers.loop()
        self._send_lock = threading.RLock()
        self._views: set[str] = set()
        self._message_callbacks: list[MessageCallback] = []
        self._relays = RelayHub(self._loop, self._post, lambda: self._server)
        self._serial = next(_serials)
        super().__init__(
            room=room,
            nickname=nickname or default_nickname(),
            status=status,
            server_url=info.url,
            **kwargs,
        )
        self.on_msg(self._on_custom)
        try:
            self._link = self._connect()
        except BaseException:
            self.close()
            raise
        self._active = True
        _widgets.add(self)
        _watch_cells()
        if server is None:
            servers.follow(self)

    # -- traits ----------------------------------------------------------------------------

    @traitlets.validate("room")
    def _valid_room(self, proposal: dict[str, Any]) -> str:
        return _check(DEFAULT_RULES.room_name, proposal["value"])

    @traitlets.validate("nickname")
    def _valid_nickname(self, proposal: dict[str, Any]) -> str:
        return _check(DEFAULT_RULES.nickname, proposal["value"])

    @traitlets.validate("server_url")
    def _valid_server_url(self, proposal: dict[str, Any]) -> str:
        """A URL given with ``?token=`` keeps the token out of the trait (and the notebook).

        Without a token, the same server keeps its token; another one gets ``TALKEX_TOKEN``.
        """
        info = parse_server_url(proposal["value"])
        if info.token is None:
            same = info.url == self._server.url
            info = ServerInfo(info.url, self._server.token if same else _env_token())
        self._server = info
        return info.url

    @traitlets.observe("room", "nickname")
    def _rejoin(self, _change: dict[str, Any]) -> None:
        if self._active:
            self._replace_link()

    @traitlets.observe("server_url")
    def _server_url_changed(self, _change: dict[str, Any]) -> None:
        if not self._active:
            return
        if not self._moving:  # set by hand: stop following the kernel's current server
            manager().unfollow(self)
        self._moved()
        self._replace_link()

    @traitlets.observe("status")
    def _status_changed(self, change: dict[str, Any]) -> None:
        link = self._link
        if not self._active or link is None:
            return
        try:
            self._loop.call(link.set_status(change["new"]), self._timeout)
        except Exception as exc:  # disconnected: the status goes out with the next rejoin
            log.warning("status %r not confirmed yet: %s", change["new"], exc)

    def server_changed(self, info: ServerInfo) -> None:
        """The kernel's current server changed (``%talkex serve`` or ``connect``): follow it."""
        if not self._active or info.same_server(self._server):
            return
        self._moving = True
        try:
            url_changes = self.server_url != info.url
            self._server = info  # the validator keeps this token for the same URL
            if url_changes:
                self.server_url = info.url  # the observer moves the views and reconnects
            else:
                self._moved()
                self._replace_link()
        finally:
            self._moving = False

    def _moved(self) -> None:
        """Tell the views where the server is now; they restart their sessions."""
        self._relays.close_all()
        for view in list(self._views):
            self._send_config(view)

    # -- the Python client -----------------------------------------------------------------

    def _connect(self) -> _RoomLink:
        link = _RoomLink(self._server, self.nickname, self.room, self.status, self._dispatch)
        try:
            self._loop.call(link.open(self._timeout), self._timeout + 1)
        except BaseException:
            self._loop.submit(link.close())
            raise
        return link

    def _replace_link(self) -> None:
        old, self._link = self._link, None
        if old is not None:
            self._loop.submit(old.close())
        self._link = self._connect()

    def _require_link(self) -> _RoomLink:
        if self._link is None:
            why = "its server did not answer" if self._active else "it is closed"
            raise RuntimeError(f"this chat widget is not connected: {why}")
        return self._link

    def _dispatch(self, message: dict[str, Any]) -> None:
        """On the loop: hand a new message to the callbacks, on their own thread."""
        for callback in list(self._message_callbacks):
            _callback_runner().submit(_run_callback, callback, dict(message))

    # -- comm messages ---------------------------------------------------------------------

    def _post(self, content: dict[str, Any], buffers: Any = None) -> None:
        """Send a custom message to the views, from any thread.

        Safe from the background loop: ipykernel 7 hands IOPub messages from any thread to its
        IOPub thread (a per-thread pipe, as for ``print`` in a thread), so relayed frames reach
        the browser while a cell keeps the kernel's main thread busy. Marshalling onto the
        kernel's loop instead would hold them until the cell ends. The lock keeps our own
        threads from interleaving inside the session's message construction.
        """
        with self._send_lock:
            if self.comm is not None:
                super().send(content, buffers)

    def _on_custom(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict):
            return
        if content.get("kind") == "hello" and isinstance(content.get("view"), str):
            self._views.add(content["view"])
            origin = content.get("origin")
            if isinstance(origin, str) and origin:
                self._loop.submit(self._vouch_then_config(content["view"], origin))
            else:
                self._send_config(content["view"])
        else:
            self._relays.handle(content)

    async def _vouch_then_config(self, view: str, origin: str) -> None:
        """Tell the server the view's page origin may open sockets, then hand over the config.

        The server refuses browser origins it does not know (cross-site WebSocket hijacking);
        the Jupyter page's origin is known only to the view, which reports it over the
        kernel's authenticated comm. Should the server refuse, the view still works through
        the comm relay.
        """
        info = self._server
        try:
            await AsyncHTTPClient().fetch(
                info.url + "api/origins",
                method="POST",
                body=json.dumps({"origin": origin}),
                headers={"Authorization": f"token {info.token or ''}"},
                request_timeout=5,
            )
        except Exception as exc:
            log.info("server did not accept the origin %s: %s", origin, exc)
        self._send_config(view)

    def _send_config(self, view: str) -> None:
        info = self._server
        self._post({"kind": "config", "view": view, "token": info.token, "server_url": info.url})

    # -- the Python API --------------------------------------------------------------------

    def send(  # type: ignore[override]
        self, text: str | dict[str, Any], timeout: Any = None, *, buffers: Any = None
    ) -> Any:
        """Post ``text`` to the room and return its message id (blocks until the server
        confirms, at most ``timeout`` seconds).

        Called with a dict this is ipywidgets' ``send(content, buffers)`` custom message.
        """
        if isinstance(text, dict):
            return self._post(text, buffers if buffers is not None else timeout)
        link = self._require_link()
        timeout = self._timeout if timeout is None else timeout
        return self._loop.call(link.client.send(text, timeout=timeout), timeout + 1)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages held, oldest first: ``{id, body, author, sent_at[, client_id]}``."""
        link = self._require_link()
        return self._loop.run(lambda: [dict(m) for m in link.client.ordered()], self._timeout)

    @property
    def presence(self) -> dict[str, str]:
        """Who is in the room: ``{nickname: status}``. A person with several tabs (or a
        notebook and a tab) shows their most available status; this kernel is one of them."""
        link = self._require_link()
        return self._loop.run(link.client.presence.statuses, self._timeout)

    @property
    def has_more(self) -> bool:
        """Whether the server holds messages older than the oldest in :attr:`messages`."""
        return self._require_link().client.has_more

    def _cell_started(self, activity: str | None) -> None:
        link = self._link
        if self.busy_while_running and link is not None:
            self._loop.submit(link.set_status("busy", activity))

    def _cell_finished(self) -> None:
        link = self._link
        if self.busy_while_running and link is not None:
            self._loop.submit(link.set_status(self.status))

    def share(self, obj: Any, caption: str | None = None, timeout: float | None = None) -> int:
        """Post a kernel object (a DataFrame, an array, any value) as a readable table.

        The text is fenced so the chat keeps its columns aligned, cut to the body limit with
        a note when it is too long; returns the message id, like :meth:`send`.
        """
        return int(self.send(format_share(obj, caption), timeout))

    def history(self, limit: int = 50, timeout: float | None = None) -> list[dict[str, Any]]:
        """Load up to ``limit`` messages older than those held; returns them, oldest first.

        They join :attr:`messages`; :attr:`has_more` says whether there are older ones still.
        """
        link = self._require_link()
        timeout = self._timeout if timeout is None else timeout
        return self._loop.call(link.client.older(limit), timeout)

    def on_message(self, callback: MessageCallback, remove: bool = False) -> MessageCallback:
        """Call ``callback(message)`` for each new message (ipywidgets' ``on_msg`` style).

        Callbacks run in order on a worker thread, also while a cell is busy; they may call
        :meth:`send`. Returns ``callback``, so this works as a decorator.
        """
        if remove:
            self._message_callbacks.remove(callback)
        else:
            self._message_callbacks.append(callback)
        return callback

    def close(self) -> None:
        """Leave the room, close relayed sockets and the views."""
        self._active = False
        link, self._link = getattr(self, "_link", None), None
        if link is not None:
            self._loop.submit(link.close())
        if hasattr(self, "_relays"):
            self._relays.close_all()
        manager().unfollow(self)
        _widgets.discard(self)
        super().close()


def _env_token() -> str | None:
    return os.environ.get("TALKEX_TOKEN") or None


def _run_callback(callback: MessageCallback, message: dict[str, Any]) -> None:
    try:
        callback(message)
    except Exception:
        log.exception("on_message callback %r failed", callback)


def close_all() -> None:
    """Close every chat widget of this kernel (``%unload_ext``)."""
    _unwatch_cells()
    for widget in open_widgets():
        widget.close()


def cell_activity(raw_cell: str, limit: int = 60) -> str | None:
    """``running <first line of code>`` for the presence meta: short, one line, printable."""
    for line in raw_cell.splitlines():
        line = "".join(ch if ch.isprintable() else " " for ch in line).strip()
        if line and not line.startswith("#"):
            text = "running " + line
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return None


_watching: list[Any] = []


def _watch_cells() -> None:
    """Hook IPython's cell events once per kernel; each live widget reports busy/idle.

    The pushes are submitted to the background loop and never awaited here, so a cell's
    start is not delayed by the chat, and the chat sees the kernel busy while the kernel's
    own thread is taken by the cell.
    """
    if _watching:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def started(info: Any) -> None:
        activity = cell_activity(getattr(info, "raw_cell", "") or "")
        for widget in list(_widgets):
            widget._cell_started(activity)

    def finished(_result: Any) -> None:
        for widget in list(_widgets):
            widget._cell_finished()

    shell.events.register("pre_run_cell", started)
    shell.events.register("post_run_cell", finished)
    _watching.extend([shell, started, finished])


def _unwatch_cells() -> None:
    if _watching:
        shell, started, finished = _watching
        shell.events.unregister("pre_run_cell", started)
        shell.events.unregister("post_run_cell", finished)
        _watching.clear()
