# nbgrader's settings for every server the course's hub starts, students' and instructors'.
# `deploy/setup.sh env` copies this file into the course environment's etc/jupyter/, where
# nbgrader finds it (as The Littlest JupyterHub's /opt/tljh/user/etc/jupyter/). The instructor's
# course folder has its own nbgrader_config.py (course id, lessons/, grading limits) on top.
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# The shared exchange: the hub's spawner sets BATCH205_EXCHANGE (deploy/jupyterhub_config.py).
c.Exchange.root = os.environ.get("BATCH205_EXCHANGE", "/srv/batch205/exchange")
# Submissions and feedback readable by their student and the instructors only, not by anybody
# who learns their path (deploy/batch205_exchange.py, installed beside nbgrader).
c.ExchangeFactory.submit = "batch205_exchange.PrivateSubmit"
c.ExchangeFactory.release_feedback = "batch205_exchange.PrivateReleaseFeedback"
