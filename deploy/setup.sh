#!/usr/bin/env bash
# Stand up the course's JupyterHub on one machine, as root (README, "For instructors": "A class on
# a JupyterHub"). Each step can be run again; the hub test (tests/test_hub.py) runs the same ones.
#
#   deploy/setup.sh env                  the course's environment for every server (~1-2 min)
#   deploy/setup.sh course               reinstall only the course package into it (after a pull)
#   deploy/setup.sh proxy                the hub's HTTP proxy from npm, as locked (deploy/node_modules)
#   deploy/setup.sh root                 the course groups and folders: hub state, the exchange
#   deploy/setup.sh instructor NAME      a Unix user in the instructors group, with the course folder
#   deploy/setup.sh student NAME...      Unix users in the students group
#
# Settings (environment variables; deploy/jupyterhub_config.py reads the same ones):
#   BATCH205_ROOT=/srv/batch205          hub state (hub/) and nbgrader's exchange (exchange/)
#   BATCH205_ENV=/opt/batch205/env       the environment every server and kernel runs in
#   BATCH205_PYTHON=python3              the Python that creates it (every user must be able to run it)
#   BATCH205_INSTRUCTORS_GROUP=batch205-instructors  BATCH205_STUDENTS_GROUP=batch205-students
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CHECKOUT="$(dirname "$HERE")"
ROOT="${BATCH205_ROOT:-/srv/batch205}"
ENV="${BATCH205_ENV:-/opt/batch205/env}"
PYTHON="${BATCH205_PYTHON:-python3}"
INSTRUCTORS="${BATCH205_INSTRUCTORS_GROUP:-batch205-instructors}"
STUDENTS="${BATCH205_STUDENTS_GROUP:-batch205-students}"
COURSE_ID=batch205  # nbgrader_config.py's c.CourseDirectory.course_id
COURSE_FOLDER=batch205  # the course folder in the instructor's home

install_deploy_files() {
  # nbgrader's settings for all servers, and the exchange classes they name, into the environment
  mkdir -p "$ENV/etc/jupyter"
  install -m 644 "$HERE/nbgrader_config.py" "$ENV/etc/jupyter/nbgrader_config.py"
  purelib="$("$ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  install -m 644 "$HERE/batch205_exchange.py" "$purelib/batch205_exchange.py"
}

case "${1:-}" in
env)
  # Not in a home folder: every user's server runs this Python (root's home is closed to them).
  [ -x "$ENV/bin/python" ] || "$PYTHON" -m venv "$ENV"
  "$ENV/bin/python" -m pip install --quiet --upgrade pip
  # not editable: the servers need neither the repository nor its lessons (the hidden tests)
  "$ENV/bin/python" -m pip install --quiet "$CHECKOUT[lab,hub]"
  # +3.5 s on every Jupyter and nbgrader start (TOOLCHAIN_NOTES §1)
  "$ENV/bin/python" -m pip uninstall --quiet -y rfc3987-syntax
  install_deploy_files
  chmod -R a+rX "$ENV"
  ;;
course)
  "$ENV/bin/python" -m pip install --quiet --no-deps --force-reinstall "$CHECKOUT"
  install_deploy_files
  chmod -R a+rX "$ENV"
  ;;
proxy)
  (cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund)
  ;;
root)
  getent group "$INSTRUCTORS" >/dev/null || groupadd "$INSTRUCTORS"
  getent group "$STUDENTS" >/dev/null || groupadd "$STUDENTS"
  install -d -m 755 "$ROOT"
  install -d -m 700 "$ROOT/hub"  # jupyterhub.sqlite, the cookie secret: root's only
  # nbgrader's exchange: writable by all as nbgrader requires, sticky as /tmp (nobody removes
  # what another user made there)
  install -d -m 1777 "$ROOT/exchange"
  ;;
instructor)
  name="${2:?usage: setup.sh instructor NAME}"
  id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$name"
  usermod -a -G "$INSTRUCTORS" "$name"
  home="$(getent passwd "$name" | cut -d: -f6)"
  chmod 700 "$home"  # useradd makes homes world-readable where HOME_MODE is unset (Debian)
  # the course folder: its nbgrader_config.py and lessons/ (solutions and hidden tests)
  if [ ! -d "$home/$COURSE_FOLDER" ]; then
    install -d -o "$name" -g "$name" -m 700 "$home/$COURSE_FOLDER"
    cp -r "$CHECKOUT/nbgrader_config.py" "$CHECKOUT/lessons" "$home/$COURSE_FOLDER/"
    chown -R "$name:$name" "$home/$COURSE_FOLDER"
  fi
  # the formgrader (Jupyter's "Formgrader" tab) finds the course folder through this file
  install -d -o "$name" -g "$name" -m 700 "$home/.jupyter"
  printf 'c = get_config()  # noqa: F821\nc.CourseDirectory.root = "%s"\n' "$home/$COURSE_FOLDER" \
    >"$home/.jupyter/nbgrader_config.py"
  chown "$name:$name" "$home/.jupyter/nbgrader_config.py"
  # The course's folder in the exchange, owned by the instructor, in the instructors' group,
  # set-group-id: nbgrader makes inbound/ in it with that group, and each submission made there
  # is readable by that group and its student only (deploy/batch205_exchange.py).
  install -d -o "$name" -g "$INSTRUCTORS" -m 2755 "$ROOT/exchange/$COURSE_ID"
  ;;
student)
  shift
  [ "$#" -gt 0 ] || { echo "usage: setup.sh student NAME..." >&2; exit 2; }
  for name in "$@"; do
    id "$name" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$name"
    usermod -a -G "$STUDENTS" "$name"
    chmod 700 "$(getent passwd "$name" | cut -d: -f6)"
  done
  ;;
*)
  sed -n '2,20p' "$0" >&2
  exit 2
  ;;
esac
