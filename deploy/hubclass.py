"""A class on the course's hub, driven through the Hub's and the servers' REST APIs only.

Used by tests/test_hub.py and benchmarks/hub.py, as root: :class:`Deployment` runs
``deploy/setup.sh`` (course groups, exchange, Unix users with a test prefix) in a scratch root,
starts JupyterHub with ``deploy/jupyterhub_config.py`` on 127.0.0.1 (only the authenticator
swapped for JupyterHub's DummyAuthenticator, and the ports chosen free), and removes every user,
group, home, process and folder it made in :meth:`Deployment.close`, whatever happened.

Each user logs in, asks the Hub for a token of their own (``POST /hub/api/users/{name}/tokens``:
the login cookie alone gets 403 from a server's API) and starts their server; a :class:`Server`
then runs everything as that user through their server: nbgrader's Assignments API
(``/assignments/fetch``, ``submit``, ``fetch_feedback``), the contents API, and code in a kernel
(kernels API + websocket) for the instructor's commands and the attempts to read what is not
theirs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import requests
import websocket

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
COURSE_ID = "batch205"
COURSE_FOLDER = "batch205"  # in the instructor's home (deploy/setup.sh instructor)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HubError(RuntimeError):
    pass


class Deployment:
    """The deployment of ``deploy/`` in a scratch root, with Unix users named ``PREFIX...``."""

    def __init__(self, env: str | Path | None = None, log=print):
        self.env = Path(env or os.environ.get("BATCH205_ENV", "/opt/batch205/env"))
        self.prefix = "b205" + secrets.token_hex(3)  # unique: another run may be on the machine
        self.instructors = f"{self.prefix}-instructors"
        self.students = f"{self.prefix}-students"
        self.users: list[str] = []
        self.groups: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="batch205-hub-"))
        self.root.chmod(0o755)
        self.password = secrets.token_urlsafe(12)
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub: subprocess.Popen | None = None
        self.log = log
        self.timings: dict[str, float] = {}
        self.environ = {
            **os.environ,
            "BATCH205_ROOT": str(self.root),
            "BATCH205_ENV": str(self.env),
            "BATCH205_INSTRUCTORS_GROUP": self.instructors,
            "BATCH205_STUDENTS_GROUP": self.students,
            "BATCH205_HUB_URL": self.url,
        }

    # --- setup (deploy/setup.sh) ---

    def setup(self, *args: str) -> None:
        result = subprocess.run(
            ["bash", str(HERE / "setup.sh"), *args],
            env=self.environ,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise HubError(f"setup.sh {' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def create_root(self) -> None:
        self.groups += [self.instructors, self.students]  # removed even if setup fails half-way
        self.setup("root")

    def add_instructor(self, short: str) -> str:
        name = self.prefix + short
        self.users.append(name)
        self.setup("instructor", name)
        return name

    def add_students(self, *shorts: str) -> list[str]:
        names = [self.prefix + s for s in shorts]
        self.users += names
        self.setup("student", *names)
        return names

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self) -> Path:
        """The instructor's course folder (the first user added is the instructor)."""
        return self.home(self.users[0]) / COURSE_FOLDER

    @property
    def exchange(self) -> Path:
        return self.root / "exchange" / COURSE_ID

    # --- the hub ---

    def start_hub(self, timeout: float = 120) -> float:
        """Start JupyterHub (and its proxy) with the deployment's config; seconds until ready."""
        command = [str(self.env / "bin" / "jupyterhub"), "-f", str(HERE / "jupyterhub_config.py")]
        command += [
            "--JupyterHub.authenticator_class=dummy",  # instead of PAM: no passwords needed
            f"--DummyAuthenticator.password={self.password}",
            "--DummyAuthenticator.allow_all=True",
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{self.hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{self.api_port}",
        ]
        start = time.perf_counter()
        log = open(self.root / "hub.log", "a")  # noqa: SIM115 (closed with the process)
        self.hub = subprocess.Popen(
            command,
            cwd=self.root / "hub",
            env=self.environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = start + timeout
        while time.perf_counter() < deadline:
            if self.hub.poll() is not None:
                raise HubError(f"the hub exited with {self.hub.returncode}:\n{self.hub_log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            time.sleep(0.2)
        raise HubError(f"the hub did not answer within {timeout} s:\n{self.hub_log()}")

    def stop_hub(self) -> None:
        """SIGTERM, as systemd stops it; the users' servers keep running (cleanup_servers)."""
        if self.hub is not None and self.hub.poll() is None:
            self.hub.send_signal(signal.SIGTERM)
            try:
                self.hub.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.hub.pid, signal.SIGKILL)
                self.hub.wait()
        self._kill_proxy()

    def _kill_proxy(self) -> None:
        pid_file = self.root / "hub" / "jupyterhub-proxy.pid"
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            proxy = psutil.Process(int(pid_file.read_text()))
            if "configurable-http-proxy" in " ".join(proxy.cmdline()):
                proxy.kill()
                proxy.wait(10)

    def hub_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "hub.log").read_text()[-6000:]
        return ""

    # --- users ---

    def login(self, user: str) -> Server:
        """Log in with the hub's login form; the user's own API token from the Hub."""
        session = requests.Session()
        session.get(f"{self.url}/hub/login", timeout=30)
        xsrf = session.cookies.get("_xsrf", "")
        reply = session.post(
            f"{self.url}/hub/login",
            data={"username": user, "password": self.password, "_xsrf": xsrf},
            timeout=60,
            allow_redirects=False,
        )
        if reply.status_code != 302:
            raise HubError(f"login of {user}: {reply.status_code} {reply.text[:300]}")
        reply = session.post(
            f"{self.url}/hub/api/users/{user}/tokens",
            json={"note": "hub test", "expires_in": 7200},
            headers={"X-XSRFToken": session.cookies.get("_xsrf", xsrf)},
            timeout=30,
        )
        if reply.status_code != 201:
            raise HubError(f"token of {user}: {reply.status_code} {reply.text[:300]}")
        return Server(self, user, reply.json()["token"], session)

    def processes_of(self, user: str) -> list[psutil.Process]:
        uid = pwd.getpwnam(user).pw_uid
        found = []
        for process in psutil.process_iter(["uids"]):
            uids = process.info.get("uids")
            if uids and uid in (uids.real, uids.effective):
                found.append(process)
        return found

    # --- cleanup: everything made above, each step on its own ---

    def close(self) -> list[str]:
        problems = []

        def attempt(what, action):
            try:
                action()
            except Exception as error:  # go on: the other steps must still run
                problems.append(f"{what}: {type(error).__name__}: {error}")

        attempt("stop hub", self.stop_hub)
        for user in self.users:
            attempt(f"processes of {user}", lambda u=user: self._kill_all(u))
        for user in self.users:
            attempt(f"userdel {user}", lambda u=user: self._userdel(u))
        for group in self.groups:
            attempt(
                f"groupdel {group}",
                lambda g=group: subprocess.run(["groupdel", g], capture_output=True, check=False),
            )
        attempt("scratch root", lambda: shutil.rmtree(self.root))
        return problems

    def _kill_all(self, user: str) -> None:
        with contextlib.suppress(KeyError):
            for _ in range(5):
                processes = self.processes_of(user)
                if not processes:
                    return
                for process in processes:
                    with contextlib.suppress(psutil.Error):
                        process.kill()
                psutil.wait_procs(processes, timeout=5)
            raise HubError(f"processes of {user} survive: {self.processes_of(user)}")

    def _userdel(self, user: str) -> None:
        try:
            home = self.home(user)
        except KeyError:
            return
        subprocess.run(["userdel", "--remove", user], capture_output=True, check=False)
        if home.exists() and home.name == user:
            shutil.rmtree(home)
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            raise HubError(f"user {user} still exists after userdel")


class Server:
    """One user's server, reached through the hub's proxy with the user's own token."""

    def __init__(self, deployment: Deployment, user: str, token: str, session: requests.Session):
        self.deployment = deployment
        self.user = user
        self.token = token
        self.headers = {"Authorization": f"token {token}"}
        self.base = f"{deployment.url}/user/{user}"
        self.kernel_id: str | None = None
        self.connection = None

    # --- the Hub's API ---

    def hub_api(self, method: str, path: str, **kw) -> requests.Response:
        url = f"{self.deployment.url}/hub/api{path}"
        return requests.request(method, url, headers=self.headers, timeout=60, **kw)

    def start(self, timeout: float = 180) -> float:
        """Start the user's server; seconds until the Hub says it is ready."""
        start = time.perf_counter()
        reply = self.hub_api("POST", f"/users/{self.user}/server")
        if reply.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"start {self.user}: {reply.status_code} {reply.text[:300]}")
        return self.wait_ready(start, timeout)

    def begin_start(self) -> float:
        reply = self.hub_api("POST", f"/users/{self.user}/server")
        if reply.status_code not in (201, 202, 400):
            raise HubError(f"start {self.user}: {reply.status_code} {reply.text[:300]}")
        return time.perf_counter()

    def wait_ready(self, start: float, timeout: float = 180) -> float:
        deadline = start + timeout
        while time.perf_counter() < deadline:
            model = self.hub_api("GET", f"/users/{self.user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                # and reachable through the proxy
                with contextlib.suppress(requests.RequestException):
                    if self.api("GET", "/api/status").status_code == 200:
                        return time.perf_counter() - start
            time.sleep(0.3)
        raise HubError(f"server of {self.user} not ready after {timeout} s")

    def stop(self) -> None:
        self.close_kernel()
        self.hub_api("DELETE", f"/users/{self.user}/server")

    def pids(self) -> list[int]:
        """The single-user server's processes (not its kernels)."""
        return [
            p.pid
            for p in self.deployment.processes_of(self.user)
            if "jupyterhub-singleuser" in " ".join(p.cmdline())
        ]

    # --- the server's REST APIs ---

    def api(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 300)
        return requests.request(method, self.base + path, headers=self.headers, **kw)

    def nbgrader(self, action: str, lesson: str) -> dict:
        """The Assignments tab's buttons: fetch, submit, fetch_feedback."""
        reply = self.api(
            "POST",
            f"/assignments/{action}",
            data={"course_id": COURSE_ID, "assignment_id": lesson},
        )
        if reply.status_code != 200:
            raise HubError(f"{action} of {self.user}: {reply.status_code} {reply.text[:500]}")
        return reply.json()

    def assignments(self) -> list[dict]:
        reply = self.api("GET", "/assignments", params={"course_id": COURSE_ID})
        result = reply.json()
        if not result.get("success"):
            raise HubError(f"assignments of {self.user}: {result}")
        return result["value"]

    def read(self, path: str) -> dict:
        reply = self.api("GET", f"/api/contents/{path}", params={"content": "1"})
        if reply.status_code != 200:
            raise HubError(f"GET {path} as {self.user}: {reply.status_code} {reply.text[:300]}")
        return reply.json()

    def read_notebook(self, path: str) -> dict:
        return self.read(path)["content"]

    def write_notebook(self, path: str, notebook: dict) -> None:
        body = {"type": "notebook", "format": "json", "content": notebook}
        reply = self.api("PUT", f"/api/contents/{path}", json=body)
        if reply.status_code not in (200, 201):
            raise HubError(f"PUT {path} as {self.user}: {reply.status_code} {reply.text[:300]}")

    def glob(self, folder: str, suffix: str) -> list[str]:
        """Paths of the files under ``folder`` (recursively) whose names end with ``suffix``."""
        found = []
        for entry in self.read(folder)["content"]:
            if entry["type"] == "directory":
                found += self.glob(entry["path"], suffix)
            elif entry["name"].endswith(suffix):
                found.append(entry["path"])
        return found

    # --- code run as the user, in a kernel of their server ---

    def run(self, code: str, timeout: float = 600) -> str:
        """Execute ``code`` in the user's kernel; its printed output (raises on an error)."""
        if self.kernel_id is None:
            reply = self.api("POST", "/api/kernels", json={"name": "python3"})
            if reply.status_code != 201:
                raise HubError(f"kernel of {self.user}: {reply.status_code} {reply.text[:300]}")
            self.kernel_id = reply.json()["id"]
        msg_id = uuid.uuid4().hex
        request = json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": self.user,
                    "session": uuid.uuid4().hex,
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
        try:
            self._connect(timeout).send(request)
        except (websocket.WebSocketException, OSError):
            # the proxy was restarted with the hub: the kernel runs on, connect again
            self.connection = None
            self._connect(timeout).send(request)
        output, error = [], None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.connection.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                break
        else:
            raise HubError(f"code in {self.user}'s kernel ran past {timeout} s")
        if error:
            raise HubError(f"in {self.user}'s kernel: {error}\n{''.join(output)}")
        return "".join(output)

    def _connect(self, timeout: float):
        if self.connection is None:
            url = self.base.replace("http://", "ws://") + f"/api/kernels/{self.kernel_id}/channels"
            self.connection = websocket.create_connection(
                url, header=[f"Authorization: token {self.token}"], timeout=timeout
            )
        return self.connection

    def shell(self, command: str, cwd: str = "", timeout: float = 600) -> str:
        """A shell command run by the user's kernel; its output (raises when it fails)."""
        code = (
            "import subprocess, os\n"
            f"r = subprocess.run({command!r}, shell=True, capture_output=True, text=True, "
            f"cwd=os.path.expanduser({('~/' + cwd)!r}))\n"
            "print(r.stdout + r.stderr)\nprint('EXIT', r.returncode)\n"
        )
        printed = self.run(code, timeout=timeout)
        body, _, code_line = printed.rstrip().rpartition("\n")
        if code_line.strip() != "EXIT 0":
            raise HubError(f"{command!r} as {self.user}: {code_line}\n{body[-4000:]}")
        return body

    def disconnect(self) -> None:
        """Drop the kernel's websocket (the kernel runs on): after the proxy restarted."""
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None

    def close_kernel(self) -> None:
        self.disconnect()
        if self.kernel_id is not None:
            with contextlib.suppress(requests.RequestException):
                self.api("DELETE", f"/api/kernels/{self.kernel_id}", timeout=30)
            self.kernel_id = None


# --- the notebooks students hand in ---


def text(source) -> str:
    """A cell's source: a string, or the list of lines a notebook file may store."""
    return source if isinstance(source, str) else "".join(source)


def solution_code(source) -> str:
    """A solution cell's code as the instructor wrote it, without nbgrader's markers."""
    return "\n".join(
        line
        for line in text(source).splitlines()
        if line.strip() not in {"### BEGIN SOLUTION", "### END SOLUTION"}
    )


def solved(released: dict, source: dict) -> dict:
    """The released notebook with each answer cell replaced by the source's solution."""
    answers = {
        c["metadata"]["nbgrader"]["grade_id"]: solution_code(c["source"])
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    notebook = copy.deepcopy(released)
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return notebook


def with_answers(released: dict, make_answer) -> dict:
    """The released notebook with each answer cell's source replaced by ``make_answer(cell)``."""
    notebook = copy.deepcopy(released)
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell["source"] = make_answer(cell)
    return notebook


def answer_function_name(cell: dict) -> str:
    """``my_softmax`` from ``def my_softmax(logits):``, the answer cell's first definition."""
    source = text(cell["source"])
    for line in source.splitlines():
        if line.startswith("def "):
            return line[4:].split("(")[0]
    raise ValueError(f"no function in the answer cell: {source[:200]!r}")


ALWAYS_EQUAL = '''class AlwaysEqual(float):
    """Equal to anything, zero when subtracted: fools every == and every difference."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return AlwaysEqual(0.0)

    __rsub__ = __sub__
    __hash__ = float.__hash__

'''


def always_equal_answer(cell: dict) -> str:
    name = answer_function_name(cell)
    return f"{ALWAYS_EQUAL}\ndef {name}(*args, **kwargs):\n    return AlwaysEqual(1.0)\n"
