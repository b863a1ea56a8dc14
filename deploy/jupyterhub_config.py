# The course's JupyterHub on one machine, as The Littlest JupyterHub runs one: the hub as root,
# one Unix user per student and instructor, each server started as that user in their home
# (LocalProcessSpawner), the course's environment for every server, nbgrader's exchange shared.
# Stand it up with deploy/setup.sh (README, "For instructors"), then, as root:
#
#   /opt/batch205/env/bin/jupyterhub -f deploy/jupyterhub_config.py
#
# Settings (environment variables, as deploy/setup.sh): BATCH205_ROOT (/srv/batch205),
# BATCH205_ENV (/opt/batch205/env), BATCH205_INSTRUCTORS_GROUP, BATCH205_STUDENTS_GROUP,
# BATCH205_HUB_URL (the address students open, http://:8000; put TLS in front, or set
# c.JupyterHub.ssl_key/ssl_cert). tests/test_hub.py runs this file as it is, changing only the
# authenticator and the ports (command-line options override this file).
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent
ROOT = Path(os.environ.get("BATCH205_ROOT", "/srv/batch205"))
ENV = Path(os.environ.get("BATCH205_ENV", "/opt/batch205/env"))
INSTRUCTORS = os.environ.get("BATCH205_INSTRUCTORS_GROUP", "batch205-instructors")
STUDENTS = os.environ.get("BATCH205_STUDENTS_GROUP", "batch205-students")

c.JupyterHub.bind_url = os.environ.get("BATCH205_HUB_URL", "http://:8000")
# the hub's state, root's only (deploy/setup.sh root makes the folder 0700)
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "hub" / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(ROOT / "hub" / "jupyterhub-proxy.pid")
# the proxy as locked in deploy/package-lock.json (deploy/setup.sh proxy)
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
# Restarting the hub (an upgrade, a crash) leaves the users' servers and their work running;
# the restarted hub finds them again.
c.JupyterHub.cleanup_servers = False

# Log in with the machine's Unix accounts (set passwords with passwd or chpasswd); only the
# course's two groups may.
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}

# Each user's server runs as that Unix user, in their home, from the course's environment.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # nbgrader runs `alembic` by name; kernels and terminals find the course's tools first
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "VIRTUAL_ENV": str(ENV),
    # where nbgrader's exchange is (read by nbgrader_config.py in the environment)
    "BATCH205_EXCHANGE": str(ROOT / "exchange"),
}
c.Spawner.start_timeout = 120  # a busy machine: a server with nbgrader takes 5-8 s when idle
c.Spawner.http_timeout = 120
