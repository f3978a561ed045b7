"""A real JupyterHub 6 for tests: DummyAuthenticator, local JupyterLab servers, Talkex service.

The hub runs as a child process in a temp directory (its database, cookie secret, log and the
users' homes all live there), on free ports (public proxy, proxy API, hub, service), with
configurable-http-proxy from ``tests/hub/node_modules`` (``npm ci`` in ``tests/hub``).

The hub starts the proxy, the service and the single-user servers in sessions of their own,
so stopping the hub's process group would miss them. Every process the hub starts carries
``TALKEX_HUB_RUN=<this run's directory>`` in its environment; :meth:`Hub.stop` stops the hub,
then ends whatever still carries the mark, so nothing outlives a test run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..helpers import api_json, free_port
from ..jupyter_dirs import LAB_SETTINGS, write_lab_settings, write_notebook

__all__ = ["CHP", "PASSWORD", "Hub", "HubSetup", "leftover_processes"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHP = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent
PASSWORD = "hub-test-password"
HARNESS_TOKEN_NAME = "harness"
MARK = "TALKEX_HUB_RUN"
START_TIMEOUT = 60.0


@dataclass
class HubSetup:
    """What the test hub is made of; the defaults are the users and groups the tests name."""

    service_command: Sequence[str]
    users: Sequence[str] = ("alice", "bob", "carol", "dave")
    talkex_users: Sequence[str] = ("alice", "bob", "dave")
    """Who gets ``access:services!service=talkex``: carol does not."""
    groups: dict[str, list[str]] = field(default_factory=lambda: {"data": ["alice"]})
    admins: Sequence[str] = ()
    service_env: dict[str, str] = field(default_factory=dict)


def _answers(url: str) -> bool:
    """``url`` gives a successful answer (the hub, its proxy and the route are up)."""
    try:
        api_json(url)
    except (urllib.error.URLError, OSError):
        return False
    return True


class Hub:
    """One JupyterHub run: ``start()``, talk to it, ``stop()`` (idempotent, leaves nothing)."""

    def __init__(self, root: Path, setup: HubSetup) -> None:
        self.root = root
        self.setup = setup
        self.port = free_port()
        self.proxy_api_port = free_port()
        self.hub_port = free_port()
        self.service_port = free_port()
        self.log = root / "jupyterhub.log"
        self.harness_token = os.urandom(16).hex()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The public address (the proxy), ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def service_url(self) -> str:
        return f"{self.url}services/talkex/"

    def config(self) -> str:
        """``jupyterhub_config.py``: the admin's block from the README, plus test plumbing."""
        setup = self.setup
        homes = self.root / "home"
        homes.mkdir(exist_ok=True)
        write_lab_settings(self.root / "lab-settings", LAB_SETTINGS)
        for user in setup.users:
            (homes / user).mkdir(exist_ok=True)
        spawner_env = {
            MARK: str(self.root),
            "TALKEX_URL": self.service_url,
            "PYTHONPATH": str(REPO),
            "JUPYTERLAB_SETTINGS_DIR": str(self.root / "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.root / "lab-workspaces"),
        }
        values = {
            "port": self.port,
            "hub_port": self.hub_port,
            "proxy_api": f"http://127.0.0.1:{self.proxy_api_port}",
            "chp": str(CHP),
            "db": f"sqlite:///{self.root / 'hub.sqlite'}",
            "secret": str(self.root / "cookie_secret"),
            "pid": str(self.root / "proxy.pid"),
            "homes": str(homes / "{username}"),
            "singleuser": str(BIN / "jupyterhub-singleuser"),
            "service": {
                "name": "talkex",
                "url": f"http://127.0.0.1:{self.service_port}",
                "command": list(setup.service_command),
                "oauth_no_confirm": True,
                "environment": {
                    MARK: str(self.root),
                    "PYTHONPATH": str(REPO),
                    "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
                    **setup.service_env,
                },
            },
            "harness": {"name": HARNESS_TOKEN_NAME, "api_token": self.harness_token},
            "roles": [
                {"name": "user", "scopes": ["self"]},
                {
                    "name": "talkex-users",
                    "scopes": ["access:services!service=talkex"],
                    "users": list(setup.talkex_users),
                },
                {
                    "name": "server",
                    "scopes": [
                        "users:activity!user",
                        "access:servers!server",
                        "access:services!service=talkex",
                    ],
                },
                {
                    "name": "harness",
                    "scopes": ["admin:users", "admin:servers", "tokens", "read:users"],
                    "services": [HARNESS_TOKEN_NAME],
                },
            ],
            "groups": {name: {"users": users} for name, users in setup.groups.items()},
            "admins": list(setup.admins),
            "users": list(setup.users),
            "spawner_env": spawner_env,
        }
        (self.root / "hub-values.json").write_text(json.dumps(values, indent=1))
        return _CONFIG

    def start(self) -> Hub:
        if not CHP.exists():
            raise RuntimeError(f"{CHP} is missing: run `npm ci` in {HERE}")
        config = self.root / "jupyterhub_config.py"
        config.write_text(self.config())
        env = {**os.environ, MARK: str(self.root), "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until(self._hub_answers, "the hub's API answers through the proxy")
        return self

    def _hub_answers(self) -> bool:
        return _answers(f"{self.url}hub/api/")

    def wait_until(self, condition: Any, what: str, timeout: float = START_TIMEOUT) -> None:
        """Poll ``condition()`` at 10 Hz; fail with the log tail if the hub died or time ran out."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n{self.tail()}")
            time.sleep(0.1)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """The hub's REST API (``path`` after ``/hub/api/``), as the harness by default."""
        url = f"{self.url}hub/api/{path.lstrip('/')}"
        return api_json(url, method=method, token=token or self.harness_token, body=body)

    def user_token(self, user: str) -> str:
        """A fresh API token of ``user``, with all that user's permissions."""
        reply = self.api("POST", f"users/{user}/tokens", {"note": "talkex hub tests"})
        return str(reply["token"])

    def start_servers(self, *users: str) -> None:
        """Spawn the users' JupyterLab servers at once (in parallel) and wait until all run."""
        for user in users:
            self.api("POST", f"users/{user}/server")
        for user in users:
            self.wait_until(
                lambda user=user: (
                    self.api("GET", f"users/{user}")["servers"].get("", {}).get("ready")
                ),
                f"{user}'s server",
            )

    def write_notebook(self, user: str, name: str, *sources: str) -> str:
        """A notebook of code cells in ``user``'s home (their server's root); its name."""
        write_notebook(self.root / "home" / user / name, *sources)
        return name

    def service_answers(self) -> bool:
        """The service's health check answers through the proxy."""
        return _answers(f"{self.service_url}healthz")

    def service_pid(self) -> int | None:
        """The running service's process id, found by its mark and command line."""
        command = list(self.setup.service_command)
        for pid, argv in leftover_processes(str(self.root)):
            if argv[-len(command) :] == command or argv == command:
                return pid
        return None

    def stop(self) -> None:
        """SIGTERM to the hub (it stops servers, service and proxy), then end any leftover."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(45)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pid, _argv in leftover_processes(str(self.root)):
            _end(pid)


def leftover_processes(run: str) -> list[tuple[int, list[str]]]:
    """Processes whose environment carries this run's mark, with their command lines."""
    needle = f"{MARK}={run}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append((int(entry.name), [a.decode(errors="replace") for a in argv if a]))
    return found


def _end(pid: int, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if ``pid`` is still there after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return True


_CONFIG = """# Written by tests/hub/harness.py for one test run.
import json
from pathlib import Path

v = json.loads(Path(__file__).with_name("hub-values.json").read_text())
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = v["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = v["hub_port"]
c.ConfigurableHTTPProxy.api_url = v["proxy_api"]
c.ConfigurableHTTPProxy.command = [v["chp"]]
c.ConfigurableHTTPProxy.pid_file = v["pid"]
c.JupyterHub.db_url = v["db"]
c.JupyterHub.cookie_secret_file = v["secret"]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allowed_users = set(v["users"])
c.Authenticator.admin_users = set(v["admins"])
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = v["homes"]
c.Spawner.cmd = [v["singleuser"]]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = v["spawner_env"]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.LocalProcessSpawner.interrupt_timeout = 3
c.LocalProcessSpawner.term_timeout = 3
c.JupyterHub.services = [v["service"], v["harness"]]
c.JupyterHub.load_roles = v["roles"]
c.JupyterHub.load_groups = v["groups"]
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
""".replace("{password}", PASSWORD)
