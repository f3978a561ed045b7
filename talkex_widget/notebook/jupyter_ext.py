"""The Jupyter server extension: the chat through Jupyter, as the person viewing the notebook.

``pip install talkex-widget`` enables it for JupyterLab 4 and Notebook 7 (a
``jupyter_server_config.d`` entry; turn it off with
``jupyter server extension disable talkex_widget``). It adds the routes of :mod:`.route` under
``<base_url>talkex/``: a view whose direct socket cannot open goes through Jupyter's own port
and login before falling back to the comm relay, and every view chats as its viewer (see
:mod:`.viewer`), vouched for with a key that only this extension and the embedded server share.

Loading costs nothing until a route is used: no Talkex server is started here; the routes
follow whichever server the runtime file names at each request.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.utils import url_path_join

from talkex_widget.notebook.route import ForwardHandler, RouteSocket, ViewerHandler
from talkex_widget.notebook.viewer import ROUTE_ENV, Viewers

__all__ = ["ROUTE", "load_jupyter_server_extension", "route_handlers"]

ROUTE = "talkex/"
"""The route's path under Jupyter's ``base_url``; the widget's front end knows it too."""


def route_handlers(base_url: str) -> list[tuple[str, type, dict[str, Any]]]:
    """Jupyter's URL patterns for the route under ``base_url``."""
    root = url_path_join(base_url, ROUTE)
    return [
        (url_path_join(root, "api/viewer"), ViewerHandler, {}),
        (url_path_join(root, "socket/websocket"), RouteSocket, {}),
        # Only what a view fetches: JSON and attachments. The chat's own pages stay off
        # Jupyter's origin, where a page's script could act as the logged-in user.
        (url_path_join(root, r"(healthz|api/(?!viewer$).+)"), ForwardHandler, {}),
    ]


def load_jupyter_server_extension(serverapp: Any) -> None:
    """Called by jupyter_server (through ``talkex_widget._jupyter_server_extension_points``)."""
    web_app = serverapp.web_app
    web_app.settings["talkex_viewers"] = Viewers()
    web_app.add_handlers(".*$", route_handlers(web_app.settings["base_url"]))
    # The kernels this server starts inherit it: their views get an identity here, so the
    # kernel sends them no shared token (notebook/views.py).
    os.environ[ROUTE_ENV] = url_path_join(web_app.settings["base_url"], ROUTE)
    serverapp.log.info("Talkex: the chat is routed through %s%s", serverapp.base_url, ROUTE)


_load_jupyter_server_extension = load_jupyter_server_extension
