"""One person with one notebook shows once: the kernel's own link is no extra tab (issue 15).

The notebook's kernel joins with ``kind: "kernel"`` (what :class:`RoomLink` sends); the person's
view of that notebook is a page here. Their row says nothing about connections until a second
view opens, and a busy kernel still shows what it runs.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import TOKEN
from .pages import join, person
from .python_people import python_person

pytestmark = pytest.mark.browser


def test_a_kernel_link_and_its_view_are_one_row_without_a_count(chat_server, new_context):
    watcher = join(new_context(), chat_server, TOKEN, "watcher")
    with python_person(chat_server, "ann", kind="kernel") as kernel:
        ann_context = new_context()
        join(ann_context, chat_server, TOKEN, "ann")
        row = person(watcher, "ann")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-count", "1")
        expect(row.locator(".tx-count")).to_have_count(0)

        kernel.set_status("busy", "model.fit()")
        expect(row).to_have_attribute("data-status", "busy")
        expect(row.locator(".tx-person-status")).to_have_text("busy · model.fit()")

        # A second view of ann's counts: two views, still one row.
        join(ann_context, chat_server, TOKEN, "ann")
        expect(row).to_have_attribute("data-count", "2")
        expect(row.locator(".tx-count")).to_have_text("×2")
