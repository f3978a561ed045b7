"""A kernel's own link says so in its presence meta (``kind: "kernel"``), through status
changes, so lists can show one person with one notebook once."""

from __future__ import annotations

from typing import Any

import pytest

from talkex_widget.core.rooms import RoomError

from .conftest import MakeService, flush, join_lobby
from .fakes import FakePeer


def metas(peer: FakePeer, key: str) -> list[dict[str, Any]]:
    """``key``'s metas as the peer sees them, without the per-join ``phx_ref``/``online_at``."""
    return [
        {k: v for k, v in m.items() if not k.startswith(("phx_ref", "online_at"))}
        for m in peer.presence()[key]["metas"]
    ]


async def test_the_kernel_kind_is_kept_in_the_meta_through_status_changes(
    make_service: MakeService,
) -> None:
    service = await make_service()
    _, view, _ = await join_lobby(service, "ann")
    kernel, _, _ = await join_lobby(service, "ann", {"kind": "kernel"})
    flush(service)
    assert sorted(metas(view, "ann"), key=len) == [
        {"status": "online"},
        {"status": "online", "kind": "kernel"},
    ]
    await service.set_status(kernel, {"status": "busy", "activity": "fit()"})
    flush(service)
    assert {"status": "busy", "activity": "fit()", "kind": "kernel"} in metas(view, "ann")


@pytest.mark.parametrize("kind", ["page", "", 1, ["kernel"]])
async def test_an_unknown_kind_is_refused(make_service: MakeService, kind: object) -> None:
    service = await make_service()
    with pytest.raises(RoomError, match="kind must be one of kernel"):
        await service.join(FakePeer("ann"), "lobby", "1", {"kind": kind})
