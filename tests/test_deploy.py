"""deploy/'s configuration files and exchange classes, without a hub (any user; tests/test_hub.py
runs the whole deployment as root)."""

from __future__ import annotations

import os
import stat
import struct
import sys
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))
import batch205_exchange  # noqa: E402 (deploy/ is not a package)

SETTINGS = ["ROOT", "ENV", "INSTRUCTORS_GROUP", "STUDENTS_GROUP", "HUB_URL", "EXCHANGE"]


def load(name: str, monkeypatch, **env):
    for key in SETTINGS:  # the defaults, unless the test sets one (make exports BATCH205_ENV)
        monkeypatch.delenv(f"BATCH205_{key}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader(name, path=str(DEPLOY)).load_config()


def test_the_hub_runs_each_user_as_themselves_from_the_course_environment(monkeypatch):
    c = load(
        "jupyterhub_config.py",
        monkeypatch,
        BATCH205_ROOT="/srv/course",
        BATCH205_ENV="/opt/course-env",
        BATCH205_STUDENTS_GROUP="pupils",
    )
    assert c.JupyterHub.spawner_class == "localprocess"  # one Unix user per student
    assert c.JupyterHub.authenticator_class == "pam"
    assert c.LocalAuthenticator.allowed_groups == {"batch205-instructors", "pupils"}
    assert c.Spawner.cmd == ["/opt/course-env/bin/jupyterhub-singleuser"]
    path = c.Spawner.environment["PATH"].split(":")
    assert path[0] == "/opt/course-env/bin"  # nbgrader runs alembic by name
    assert c.Spawner.environment["BATCH205_EXCHANGE"] == "/srv/course/exchange"
    assert c.JupyterHub.db_url == "sqlite:////srv/course/hub/jupyterhub.sqlite"
    assert c.JupyterHub.cleanup_servers is False  # a hub restart keeps the servers
    (proxy,) = c.ConfigurableHTTPProxy.command
    assert Path(proxy) == DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"


def test_every_server_uses_the_shared_exchange_and_the_private_classes(monkeypatch):
    c = load("nbgrader_config.py", monkeypatch, BATCH205_EXCHANGE="/srv/course/exchange")
    assert c.Exchange.root == "/srv/course/exchange"
    from nbgrader.exchange.default import ExchangeReleaseFeedback, ExchangeSubmit

    assert c.ExchangeFactory.submit == "batch205_exchange.PrivateSubmit"
    assert issubclass(batch205_exchange.PrivateSubmit, ExchangeSubmit)
    assert c.ExchangeFactory.release_feedback == "batch205_exchange.PrivateReleaseFeedback"
    assert issubclass(batch205_exchange.PrivateReleaseFeedback, ExchangeReleaseFeedback)


def test_an_acl_entry_lets_one_more_user_read_and_nobody_else(tmp_path):
    path = tmp_path / "feedback.html"
    path.write_text("x")
    path.chmod(0o644)
    me = os.getuid()
    batch205_exchange.set_acl(str(path), 6, 4, user=me, to=batch205_exchange.READ)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the group bits are the ACL's mask
    data = os.getxattr(path, "system.posix_acl_access")
    entries = [struct.unpack("<HHI", data[i : i + 8]) for i in range(4, len(data), 8)]
    assert (0x02, 4, me) in entries and (0x20, 0, 0xFFFFFFFF) in entries  # that user; no others
