"""A kernel's own link says so in its presence meta (``kind: "kernel"``), through status
changes, so lists can show one person with one notebook once."""

from __future__ import annotations

from typing import Any

import pytest

from talkex_widget.core.presence import sync_diff, sync_state
from talkex_widget.core.rooms import RoomError
from talkex_widget.server.service import ChatService

from .conftest import MakeService, flush
from .fakes import FakePeer


def metas(peer: FakePeer, key: str) -> list[dict[str, Any]]:
    state: dict[str, Any] = {}
    for frame in peer.frames():
        if frame[3] == "presence_state":
            state = sync_state(state, frame[4])
        elif frame[3] == "presence_diff":
            state = sync_diff(state, frame[4])
    return [
        {k: v for k, v in m.items() if not k.startswith(("phx_ref", "online_at"))}
        for m in state[key]["metas"]
    ]


async def join(service: ChatService, peer: FakePeer, payload: dict[str, Any]) -> Any:
    member, _ = await service.join(peer, "lobby", "1", payload)
    await service.after_join(member)
    return member


async def test_the_kernel_kind_is_kept_in_the_meta_through_status_changes(
    make_service: MakeService,
) -> None:
    service = await make_service()
    view = FakePeer("ann")
    await join(service, view, {})
    kernel = await join(service, FakePeer("ann"), {"kind": "kernel"})
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
