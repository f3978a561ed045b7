"""What happens to a request before any handler trusts it, and what is logged about it.

Two rules hold for every route, the hub's and the static files included, so they live in the
application rather than in each handler:

* A request is refused on its headers alone when its declared body is larger than
  :attr:`~talkex_widget.core.limits.Limits.max_request_bytes` (413), or, with authentication
  off, when its Host is not a loopback name (403: a DNS rebinding page names its own host).
  Nothing of the body is read first: ``Content-Length: 59000000`` costs the server nothing.
* No log line carries a credential: the query string of a logged request keeps the values of
  a few known, harmless parameters and shows every other value as ``[secret]``, whether the
  token in it was right or wrong. Tornado logs headers nowhere, so cookies and
  ``Authorization`` stay out by themselves.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
import tornado.httputil
import tornado.web
from tornado.log import access_log, app_log

from talkex_widget.core.auth import loopback_host

__all__ = [
    "SHOWN_QUERY_KEYS",
    "NotFound",
    "RedactingHandler",
    "StaticFiles",
    "TalkexApplication",
    "log_request",
    "redact_uri",
]

SHOWN_QUERY_KEYS = frozenset({"vsn", "nickname", "before_id", "limit"})
"""Query parameters whose values may be logged; any other value is shown as ``[secret]``."""
_NAMED_QUERY_KEYS = SHOWN_QUERY_KEYS | {"token"}
"""Parameters whose names may be logged (a value typed where a name goes is still hidden)."""
HIDDEN = "[secret]"


def redact_uri(uri: str) -> str:
    """``uri`` as it may be logged: the path, and the query with unknown values hidden."""
    path, question, query = uri.partition("?")
    if not question:
        return path
    shown = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in SHOWN_QUERY_KEYS:
            shown.append(f"{key}={quote(value, safe='')}")
        elif key in _NAMED_QUERY_KEYS:
            shown.append(f"{key}={HIDDEN}")
        else:
            shown.append(HIDDEN)
    return f"{path}?{'&'.join(shown)}"


def _summary(request: tornado.httputil.HTTPServerRequest) -> str:
    return f"{request.method} {redact_uri(request.uri or '')} ({request.remote_ip})"


def log_request(handler: tornado.web.RequestHandler) -> None:
    """The access log line (the Application's ``log_function``), for every handler."""
    status = handler.get_status()
    if status < 400:
        log = access_log.info
    elif status < 500:
        log = access_log.warning
    else:
        log = access_log.error
    millis = 1000.0 * handler.request.request_time()
    log("%d %s %.2fms", status, _summary(handler.request), millis)


class RedactingHandler(tornado.web.RequestHandler):
    """A handler whose warnings and errors describe the request without its credentials.

    Tornado's own lines (``403 GET /api/...?token=... : missing or wrong token``, and the
    request's ``repr`` after an uncaught exception) would print the raw URI.
    """

    def _request_summary(self) -> str:
        return _summary(self.request)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)  # one line, through _request_summary
        else:
            app_log.error(
                "Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb)
            )


@tornado.web.stream_request_body
class Refusal(RedactingHandler):
    """Answers on the headers alone, whatever the route and method: a streaming handler runs
    before the body is read, and finishing it closes the connection on the unread rest."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason

    def prepare(self) -> None:
        self.set_status(self.status)
        self.set_header("Content-Type", "application/json")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(orjson.dumps({"error": self.reason}))

    def data_received(self, chunk: bytes) -> None:
        """Never reached: :meth:`prepare` has finished the request."""


class NotFound(RedactingHandler):
    """Unknown paths: a JSON 404, logged without the query."""

    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(orjson.dumps({"error": "not found"}))


class StaticFiles(RedactingHandler, tornado.web.StaticFileHandler):
    """The bundles, logged like every other route."""


class TalkexApplication(tornado.web.Application):
    """The routes, behind the refusals every route shares (see the module's docstring)."""

    def __init__(
        self,
        handlers: list[Any],
        *,
        max_request_bytes: int,
        loopback_only: bool,
        **settings: Any,
    ) -> None:
        """``loopback_only``: authentication is off, so only loopback Host names are served."""
        self.max_request_bytes = max_request_bytes
        self.loopback_only = loopback_only
        super().__init__(
            handlers,
            log_function=log_request,
            default_handler_class=NotFound,
            static_handler_class=StaticFiles,
            **settings,
        )

    def refusal(self, request: tornado.httputil.HTTPServerRequest) -> tuple[int, str] | None:
        """Why ``request`` is refused on its headers alone (status and reason), or ``None``."""
        if self.loopback_only and not loopback_host(request.host):
            return 403, (
                "this server runs without a token and answers only to localhost, 127.0.0.1 "
                "or [::1]; open it by one of those names"
            )
        declared = request.headers.get("Content-Length", "")
        # ASCII digits only ("²" is a digit to str.isdigit), and no int() of thousands of
        # them (refused past 4300); anything else malformed is Tornado's to answer (400).
        if (declared.isascii() and declared.isdigit()) and (
            len(declared) > 15 or int(declared) > self.max_request_bytes
        ):
            return 413, f"request body too large (limit {self.max_request_bytes} bytes)"
        return None

    def find_handler(
        self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any
    ) -> tornado.web._HandlerDelegate:
        refusal = self.refusal(request)
        if refusal is not None:
            status, reason = refusal
            return self.get_handler_delegate(request, Refusal, {"status": status, "reason": reason})
        return super().find_handler(request, **kwargs)
