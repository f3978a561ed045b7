"""ServerConfig.check: what a server refuses to start with (the token rules are in
test_security.py)."""

from __future__ import annotations

import pytest

from talkex_widget.server.config import HOSTS, ServerConfig


def test_hosted_by_is_none_or_a_known_host() -> None:
    ServerConfig().check()
    for host in HOSTS:
        ServerConfig(hosted_by=host).check()
    with pytest.raises(ValueError, match="hosted_by must be one of \\('notebook',\\) or None"):
        ServerConfig(hosted_by="kernel").check()
