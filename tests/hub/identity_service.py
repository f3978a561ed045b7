"""The hub-mode routes alone, as a managed service: the harness test of identity runs this
before the whole chat is mounted under the prefix (``talkex serve --jupyterhub``)."""

from __future__ import annotations

import asyncio

import tornado.web

from talkex_widget.server.hub import HubIdentity, HubSettings, hub_routes


async def main() -> None:
    settings = HubSettings.from_env()
    app = tornado.web.Application(
        hub_routes(HubIdentity(settings)), cookie_secret=settings.cookie_secret
    )
    host, port = settings.bind
    app.listen(port, host)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
