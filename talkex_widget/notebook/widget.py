"""``ChatWidget``: a Talkex room in a notebook, for the people at the screen and for code.

The view (``static/widget.js``) talks to the server over its own WebSocket, or through the
kernel (:mod:`.relay`) when it cannot reach the server; :mod:`.views` answers its hellos with
the token, which is never a trait. The Python side keeps its own connection (:mod:`.link`) for
:meth:`ChatWidget.send`, :attr:`~ChatWidget.messages`, :attr:`~ChatWidget.presence`,
:meth:`~ChatWidget.on_message` and :meth:`~ChatWidget.history`. That connection runs on the
background loop of :mod:`.embedded`, so it goes on receiving while a cell computes; the methods
here wait for it from the kernel thread with a timeout. Long cells make the notebook ``busy``
(:mod:`.cells`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from talkex_widget.core.rooms import DEFAULT_RULES, STATUSES, RoomError
from talkex_widget.notebook.cells import BusyTimer
from talkex_widget.notebook.discovery import ServerInfo, parse_server_url, server_from_env
from talkex_widget.notebook.embedded import LoopThread, manager
from talkex_widget.notebook.link import MessageCallback, RoomLink
from talkex_widget.notebook.registry import WidgetRegistry
from talkex_widget.notebook.sharing import share_payload
from talkex_widget.notebook.viewer import owner_login
from talkex_widget.notebook.views import Views

__all__ = ["ChatWidget", "close_all", "default_nickname", "open_widgets", "registry"]

log = logging.getLogger("talkex.widget")

STATIC = Path(__file__).parents[1] / "static"
DEFAULT_TIMEOUT = 10.0
FRONT_END_READ_ONLY = frozenset({"server_url"})
"""Synced traits the views show but may not set (see :meth:`ChatWidget.set_state`)."""


default_nickname = owner_login
"""``JUPYTERHUB_USER`` on a hub, else the kernel user's login name: the same person the Jupyter
extension calls the server's owner, so their view and their kernel share one presence key."""


class ChatWidget(anywidget.AnyWidget):
    """A chat room in a notebook.

    ``ChatWidget(room="lobby")`` shows the room and joins it from Python too. ``nickname``
    defaults to :func:`default_nickname`; ``server`` (``http://HOST:PORT/?token=T``) picks a
    server, else the kernel's current one is used (``TALKEX_URL``, a server another kernel
    runs, or a new embedded one: see :class:`~.embedded.ServerManager`).

    Traits ``room``, ``nickname``, ``status`` and ``server_url`` are synced with the views:
    set them from Python and the views rejoin or change status; a view's status menu sets
    ``status`` here. ``server_url`` is the server's http address and never holds the token;
    the views show it but cannot change it (:meth:`set_state`).
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "talkex.css"

    room = traitlets.Unicode("lobby").tag(sync=True)
    nickname = traitlets.Unicode().tag(sync=True)
    status = traitlets.Enum(STATUSES, default_value="online").tag(sync=True)
    server_url = traitlets.Unicode().tag(sync=True)
    busy_while_running = traitlets.Bool(True).tag(sync=True)
    """While a long cell runs, this notebook's presence says ``busy`` with the cell's first line."""
    busy_after = traitlets.Float(2.0, min=0.0)
    """Seconds a cell runs before the notebook says ``busy``: quick cells change nothing."""

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
        self._link: RoomLink | None = None
        self._linking = threading.Event()  # set while no new link is being opened
        self._linking.set()
        self._loop: LoopThread = servers.loop()
        self._message_callbacks: list[MessageCallback] = []
        self._views = Views(self._loop, self._comm_send, lambda: self._server)
        self._busy = BusyTimer(self._loop, self._push_status, lambda: self.status)
        super().__init__(
            room=room,
            nickname=nickname or default_nickname(),  # on a hub, the validator's hub name
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
        registry.add(self)
        if server is None:
            servers.follow(self)

    # -- traits ----------------------------------------------------------------------------

    @traitlets.validate("room")
    def _valid_room(self, proposal: dict[str, Any]) -> str:
        return _check(DEFAULT_RULES.room_name, proposal["value"])

    @traitlets.validate("nickname")
    def _valid_nickname(self, proposal: dict[str, Any]) -> str:
        if self._server.hub:  # the hub names the kernel's owner, whatever is asked for
            return default_nickname()
        return _check(DEFAULT_RULES.nickname, proposal["value"])

    @traitlets.validate("server_url")
    def _valid_server_url(self, proposal: dict[str, Any]) -> str:
        """A URL given with ``?token=`` keeps the token out of the trait (and the notebook).

        Without a token, the same server keeps its token; ``TALKEX_URL``'s server gets the
        environment's token; any other gets none: a token from the environment only ever
        goes to the URL it came with.
        """
        info = parse_server_url(proposal["value"])
        if info.token is None:
            env = server_from_env()
            if info.url == self._server.url:
                info = self._server
            elif env is not None and info.url == env.url:
                info = env
        self._server = info
        return info.url

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """A state update from a view: ``room``, ``nickname``, ``status`` and the like apply;
        a ``server_url`` does not.

        Which server a kernel talks to (and sends its token to) is chosen in Python only: the
        ``server`` argument, ``TALKEX_URL``, ``%talkex connect``, the runtime file. A viewer of
        a dashboard can send widget updates without running code, so taking the URL from a
        view would let them point the kernel, with its token, anywhere. The views are told the
        kernel's value again, so they stay in step.
        """
        refused = FRONT_END_READ_ONLY.intersection(sync_data)
        if refused:
            log.warning(
                "ignored a view's change of %s: the server is chosen in Python",
                ", ".join(sorted(refused)),
            )
            sync_data = {k: v for k, v in sync_data.items() if k not in refused}
        if sync_data:
            super().set_state(sync_data)
        if refused:
            self.send_state(sorted(refused))

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
        self._move()

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
                self._move()
        finally:
            self._moving = False

    # -- the kernel's own connection, and the views' messages ------------------------------

    def _connect(self) -> RoomLink:
        link = RoomLink(self._server, self.nickname, self.room, self.status, self._dispatch)
        try:
            self._loop.call(link.open(self._timeout), self._timeout + 1)
        except BaseException:
            self._loop.submit(link.close())
            raise
        return link

    def _replace_link(self) -> None:
        self._linking.clear()
        try:
            old, self._link = self._link, None
            if old is not None:
                self._loop.submit(old.close())
            self._link = self._connect()
        finally:
            self._linking.set()

    def _move(self) -> None:
        """To the server now in ``_server``: the kernel's link first, then the views, so that
        a view told where to go finds the kernel there (and ``send`` works once it knows)."""
        try:
            self._replace_link()
        finally:
            self._views.moved()

    def _require_link(self) -> RoomLink:
        """The current link; while one is being opened (the widget moves to another server, as
        after a takeover on a new port, possibly from another thread), wait for it."""
        if self._link is None and self._active:
            self._linking.wait(self._timeout)
        if self._link is None:
            why = "its server did not answer" if self._active else "it is closed"
            raise RuntimeError(f"this chat widget is not connected: {why}")
        return self._link

    def _dispatch(self, message: dict[str, Any]) -> None:
        """On the loop: hand a new message to the callbacks, on their own thread."""
        for callback in list(self._message_callbacks):
            registry.callbacks.submit(callback, dict(message))

    def _comm_send(self, content: dict[str, Any], buffers: Any) -> None:
        if self.comm is not None:
            super().send(content, buffers)

    def _on_custom(self, _widget: object, content: Any, _buffers: object) -> None:
        self._views.handle(content)

    # -- cells (called by the registry's hooks, on the kernel thread) ----------------------

    def _cell_started(self, activity: str | None) -> None:
        if self.busy_while_running:
            self._busy.cell_started(self.busy_after, activity)

    def _cell_finished(self) -> None:
        self._busy.cell_finished()

    async def _push_status(self, status: str, activity: str | None) -> None:
        """On the loop: the busy timer's status, through whichever link is current."""
        link = self._link
        if link is not None:
            await link.set_status(status, activity)

    # -- the Python API --------------------------------------------------------------------

    def send(  # type: ignore[override]
        self, text: str | dict[str, Any], timeout: Any = None, *, buffers: Any = None
    ) -> Any:
        """Post ``text`` to the room and return its message id (blocks until the server
        confirms, at most ``timeout`` seconds). Sent while the server is away (another kernel
        is taking over from the one that hosted it), it is confirmed once it is back.

        Called with a dict this is ipywidgets' ``send(content, buffers)`` custom message.
        """
        if isinstance(text, dict):
            return self._views.post(text, buffers if buffers is not None else timeout)
        link = self._require_link()
        timeout = self._timeout if timeout is None else timeout
        return self._loop.call(link.send(text, timeout), timeout + 1)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The messages held, oldest first: ``{id, body, author, sent_at[, client_id]}``, and
        for a shared result its ``kind`` (``table``, ``code``, ``figure``) with ``table``,
        ``language`` or ``attachment`` (the image's ``{id, type, width, height, size}``).
        Each is in its latest state: an edited one has ``edited_at``, a deleted one
        ``deleted_at`` and an empty body, and ``reactions`` is ``{emoji: [who, ...]}``."""
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

    def share(
        self,
        obj: Any,
        caption: str | None = None,
        timeout: float | None = None,
        *,
        language: str | None = None,
    ) -> int:
        """Post a kernel result as a first-class message and return its id, like :meth:`send`.

        A DataFrame (or Series) becomes a table (its first 50 rows × 20 columns, the full size
        noted); a matplotlib figure, anything with ``_repr_png_`` (PIL) or a plotly figure
        (with kaleido) a PNG image; a string or :class:`~.sharing.Code` a code block in
        ``language`` (default ``python``; ``Code.previous_cell()`` shares the last cell);
        anything else its text. ``caption`` goes with it.
        """
        link = self._require_link()
        payload = share_payload(obj, caption, language, link.limits)
        timeout = self._timeout if timeout is None else timeout
        # Not self.send: a dict there is ipywidgets' custom message to the views.
        return int(self._loop.call(link.send(payload, timeout), timeout + 1))

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
        if hasattr(self, "_views"):
            self._views.close()
        manager().unfollow(self)
        registry.discard(self)
        super().close()


registry: WidgetRegistry[ChatWidget] = WidgetRegistry()
"""This kernel's chat widgets."""


def open_widgets() -> list[ChatWidget]:
    """The chat widgets of this kernel that are not closed, oldest first."""
    return registry.open()


def close_all() -> None:
    """Close every chat widget of this kernel (``%unload_ext``)."""
    registry.close_all()


def _check(rule: Callable[[Any], str], value: Any) -> str:
    try:
        return rule(value)
    except RoomError as exc:
        raise traitlets.TraitError(exc.reason) from None
