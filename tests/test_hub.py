"""A class through the course's JupyterHub (deploy/), with real Unix users, as root.

One module-scoped run (``the_class``) does what a class does, through the Hub's and the
single-user servers' REST APIs only, with the deployment's own config (only the authenticator
swapped for JupyterHub's DummyAuthenticator): an instructor and three students with a test
prefix are made by ``deploy/setup.sh``; the instructor releases lesson 01 (the learner edition);
alice fetches and submits it untouched, then, after the hub was restarted, solved; bob's server
is killed while he fetches, mallory fetches meanwhile, bob's server is started again and he
submits untouched; mallory submits answers whose ``==`` always says True, with code that tries
to read the instructor's files while it is graded; the instructor collects, grades with the
course's ``grade`` command (contained, in bubblewrap), releases the feedback, and each student
fetches theirs. Then every student's kernel tries to read what is not theirs. The tests below
check the records the run left. ``deploy/hubclass.py`` removes every user, group, home, process
and folder it made, also when the run fails.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from course_utils.checks import LEARNER_STUB

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
import hubclass  # noqa: E402 (deploy/ is not a package)

pytestmark = pytest.mark.hub

if os.geteuid() != 0:
    pytest.skip(
        "needs root: the hub test makes Unix users and runs JupyterHub as root (CI runs as root)",
        allow_module_level=True,
    )

LESSON = "01-naive-tutorial"
NOTEBOOK = f"{LESSON}/{LESSON}.ipynb"
ENV = Path(os.environ.get("BATCH205_ENV", "/opt/batch205/env"))
MAX_SCORE = 7.0  # lesson 01: 2 + 2 + 3 points

# Code a user's kernel runs to try a path: "READ" / "LISTED n" when it could, else the error.
PROBE = """
import json, os

def probe(path, kind):
    try:
        if kind == "list":
            return f"LISTED {len(os.listdir(path))}"
        with open(path, "rb") as f:
            f.read(1)
        return "READ"
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror}"
"""


def probe_code(attempts: dict[str, tuple[str, str]]) -> str:
    return (
        PROBE + f"\nprint(json.dumps({{k: probe(p, kind) for k, (p, kind) in {attempts!r}.items()}}))\n"
    )


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


# the answer cell of mallory's that, run by the grader, tries the instructor's files
GRADED_PROBE = """
import os
_home = os.path.expanduser("~{instructor}")
_course = os.path.join(_home, "batch205")
_tries = {{
    "the instructor's source notebook": (os.path.join(_course, "lessons", "{lesson}", "{lesson}.ipynb"), "read"),
    "the gradebook": (os.path.join(_course, "gradebook.db"), "read"),
    "the instructor's home": (_home, "list"),
    "the course's submitted/": (os.path.join(_course, "submitted"), "list"),
}}
# and any gradebook the grader's working copy holds, in the working folder or above it
_folder = os.getcwd()
while True:
    for _name in sorted(os.listdir(_folder)) if os.access(_folder, os.R_OK) else []:
        if _name.endswith(".db"):
            _tries["a database beside the submission: " + os.path.join(_folder, _name)] = (
                os.path.join(_folder, _name), "read")
    if _folder == "/":
        break
    _folder = os.path.dirname(_folder)
for _label, (_path, _kind) in _tries.items():
    print("GRADED-PROBE", json.dumps([_label, probe(_path, _kind)]))
"""


@pytest.fixture(scope="module")
def the_class():
    if not (ENV / "bin" / "jupyterhub-singleuser").exists():
        pytest.fail(f"no course environment at {ENV}: run `make hub-env` (make test does) as root")
    if shutil.which("bwrap") is None:
        pytest.fail(
            "bubblewrap is needed to grade contained (apt-get install bubblewrap; .ci/run does)"
        )
    deployment = hubclass.Deployment(ENV)
    record = {"timings": {}, "notes": []}
    timings = record["timings"]
    try:
        run_the_class(deployment, record)
        yield record
    finally:
        log = deployment.hub_log()
        problems = deployment.close()
        print(json.dumps(timings, indent=1))
        print("\n".join(record["notes"]))
        if problems:
            print(log)
            raise AssertionError(f"cleanup failed: {problems}")


def run_the_class(d: hubclass.Deployment, record: dict) -> None:
    timings, notes = record["timings"], record["notes"]
    d.create_root()
    teacher = d.add_instructor("teach")
    alice_name, bob_name, mallory_name = d.add_students("alice", "bob", "mallory")
    record["names"] = {"alice": alice_name, "bob": bob_name, "mallory": mallory_name}
    record["instructors_gid"] = __import__("grp").getgrnam(d.instructors).gr_gid
    record["deployment"] = d

    timings["hub start (s)"] = d.start_hub()
    teach = d.login(teacher)
    alice, bob, mallory = (d.login(n) for n in (alice_name, bob_name, mallory_name))
    users = {"teach": teach, "alice": alice, "bob": bob, "mallory": mallory}
    record["users"] = users
    start = time.perf_counter()
    for server in users.values():
        server.begin_start()
    spawn = {name: server.wait_ready(start) for name, server in users.items()}
    timings["4 servers spawned at once, last ready (s)"] = max(spawn.values())

    # the instructor releases lesson 01's learner edition to the exchange
    t = time.perf_counter()
    teach.shell(
        f"python -m course_utils release {LESSON} --to release --force && "
        f"nbgrader release_assignment {LESSON}",
        cwd="batch205",
    )
    timings["instructor release (s)"] = time.perf_counter() - t
    outbound = d.exchange / "outbound" / LESSON
    released_digest = tree_digest(outbound)
    source = json.loads((d.course / "lessons" / LESSON / f"{LESSON}.ipynb").read_text())

    # alice fetches and submits untouched (her first submission)
    t = time.perf_counter()
    listed = alice.nbgrader("fetch", LESSON)
    released = alice.read_notebook(NOTEBOOK)
    record["alice fetched"] = released
    record["alice fetch listing"] = listed
    assert alice.nbgrader("submit", LESSON)["success"]
    timings["alice fetch + submit (s)"] = time.perf_counter() - t

    # bob's server is killed while he fetches; mallory fetches meanwhile
    (bob_pid,) = bob.pids()
    home = d.home(bob_name) / LESSON
    result = {}
    fetching = threading.Thread(
        target=lambda: result.update(reply=_try(lambda: bob.nbgrader("fetch", LESSON)))
    )
    fetching.start()
    deadline = time.monotonic() + 5
    while not home.exists() and time.monotonic() < deadline and fetching.is_alive():
        time.sleep(0.01)
    os.kill(bob_pid, 9)
    fetching.join(60)
    copied = sorted(p.name for p in home.iterdir()) if home.exists() else None
    record["bob killed"] = {"folder then": copied, "reply": str(result.get("reply"))[:200]}
    notes.append(f"bob's server killed mid-fetch: his lesson folder then held {copied}")
    t = time.perf_counter()
    record["mallory fetch listing"] = mallory.nbgrader("fetch", LESSON)
    record["outbound unchanged after the kill"] = tree_digest(outbound) == released_digest
    timings["bob's server restarted after the kill (s)"] = bob.start()
    if home.exists() and not (home / f"{LESSON}.ipynb").exists():  # a partial copy: set aside
        home.rename(home.with_name(LESSON + "-partial"))
    if not home.exists():
        bob.nbgrader("fetch", LESSON)
    record["bob has the lesson"] = bob.read_notebook(NOTEBOOK)["cells"] == released["cells"]
    assert bob.nbgrader("submit", LESSON)["success"]

    # the hub restarts mid-class (an upgrade, a crash): the servers and submissions stay
    before = sorted(p.name for p in (d.exchange / "inbound").iterdir())
    d.stop_hub()
    timings["hub restart (s)"] = d.start_hub()
    for server in users.values():  # the proxy restarted with the hub: as a browser, reconnect
        server.disconnect()
    record["inbound before the restart"] = before
    record["inbound after the restart"] = sorted(p.name for p in (d.exchange / "inbound").iterdir())

    # alice solves and submits again (the later one must be graded); mallory's always-equal
    alice.write_notebook(NOTEBOOK, hubclass.solved(released, source))
    assert alice.nbgrader("submit", LESSON)["success"]
    fooled = hubclass.with_answers(released, hubclass.always_equal_answer)
    first_answer = next(c for c in fooled["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
    first_answer["source"] = (
        hubclass.text(first_answer["source"])
        + PROBE
        + GRADED_PROBE.format(instructor=teacher, lesson=LESSON)
    )
    mallory.write_notebook(NOTEBOOK, fooled)
    t = time.perf_counter()
    assert mallory.nbgrader("submit", LESSON)["success"]
    timings["one submit (s)"] = time.perf_counter() - t

    # the instructor collects, grades (the course's command, contained), releases the feedback
    t = time.perf_counter()
    record["collect"] = teach.shell(f"nbgrader collect {LESSON}", cwd="batch205")
    timings["collect (s)"] = time.perf_counter() - t
    t = time.perf_counter()
    record["grade"] = teach.shell(
        f"python -m course_utils grade {LESSON} submitted --jobs 2 --sandbox bwrap",
        cwd="batch205",
    )
    timings["grade 3 students, --jobs 2 (s)"] = time.perf_counter() - t
    t = time.perf_counter()
    record["release_feedback"] = teach.shell(f"nbgrader release_feedback {LESSON}", cwd="batch205")
    timings["release feedback (s)"] = time.perf_counter() - t
    grades = teach.read("batch205/grades.csv")["content"]
    record["grades"] = {r["student_id"]: r for r in csv.DictReader(io.StringIO(grades))}
    graded = teach.read_notebook(f"batch205/autograded/{mallory_name}/{LESSON}/{LESSON}.ipynb")
    printed = "".join(
        o.get("text", "") for c in graded["cells"] for o in c.get("outputs", []) if "text" in o
    )
    record["graded probe"] = dict(
        json.loads(line.split(" ", 1)[1])
        for line in printed.splitlines()
        if line.startswith("GRADED-PROBE ")
    )

    # each student fetches their feedback
    record["feedback"] = {}
    t = time.perf_counter()
    for name in ("alice", "bob", "mallory"):
        server = users[name]
        server.nbgrader("fetch_feedback", LESSON)
        (path,) = server.glob(f"{LESSON}/feedback", ".html")
        record["feedback"][name] = server.read(path)["content"]
    timings["3 students fetch feedback (s)"] = time.perf_counter() - t

    # then each student's kernel tries what is not theirs
    record["attempts"] = attempts_of_students(d, record, teacher)


def _try(action):
    try:
        return action()
    except Exception as error:
        return error


def released_feedback_of(d: hubclass.Deployment, student: str, lesson_feedback: str) -> Path:
    """The file in the exchange's feedback/ that a student fetched (matched by its bytes)."""
    for path in (d.exchange / "feedback").iterdir():
        if path.read_text() == lesson_feedback:
            return path
    raise AssertionError(f"no released feedback of {student} in {d.exchange / 'feedback'}")


ATTEMPTS = [  # label, expected: what a student tries on another's (or the instructor's) files
    "list the exchange's inbound/ (all submissions)",
    "list another student's submission",
    "read another student's submitted notebook",
    "list the exchange's feedback/",
    "read another student's released feedback",
    "read another student's fetched feedback (in their home)",
    "list another student's home",
    "list the instructor's home",
    "read the instructor's source notebook (hidden tests)",
    "read the gradebook",
]
CONTROLS = [  # what the same probe must read: it would see a leak
    "read my own submitted notebook",
    "read my own released feedback",
    "read a world-readable file planted in inbound/ (a control)",
]


def attempts_of_students(d, record, teacher) -> dict:
    names = record["names"]
    inbound = d.exchange / "inbound"
    submissions = {}
    for entry in sorted(inbound.iterdir()):  # the latest submission of each student
        submissions[entry.name.split("+")[0]] = entry
    canary = inbound / "canary-world-readable"
    canary.mkdir(mode=0o755)
    (canary / f"{LESSON}.ipynb").write_text("{}")
    (canary / f"{LESSON}.ipynb").chmod(0o644)
    canary.chmod(0o755)
    course = d.course
    results = {}
    others = {"alice": "bob", "bob": "mallory", "mallory": "alice"}
    for student, other in others.items():
        me, them = names[student], names[other]
        feedback_of_them = released_feedback_of(d, other, record["feedback"][other])
        (their_fetched,) = (d.home(them) / LESSON / "feedback").rglob("*.html")
        tries = {
            ATTEMPTS[0]: (str(inbound), "list"),
            ATTEMPTS[1]: (str(submissions[them]), "list"),
            ATTEMPTS[2]: (str(submissions[them] / f"{LESSON}.ipynb"), "read"),
            ATTEMPTS[3]: (str(d.exchange / "feedback"), "list"),
            ATTEMPTS[4]: (str(feedback_of_them), "read"),
            ATTEMPTS[5]: (str(their_fetched), "read"),
            ATTEMPTS[6]: (str(d.home(them)), "list"),
            ATTEMPTS[7]: (str(d.home(teacher)), "list"),
            ATTEMPTS[8]: (str(course / "lessons" / LESSON / f"{LESSON}.ipynb"), "read"),
            ATTEMPTS[9]: (str(course / "gradebook.db"), "read"),
            CONTROLS[0]: (str(submissions[me] / f"{LESSON}.ipynb"), "read"),
            CONTROLS[1]: (str(released_feedback_of(d, student, record["feedback"][student])), "read"),
            CONTROLS[2]: (str(canary / f"{LESSON}.ipynb"), "read"),
        }
        server = record["users"][student]
        results[student] = json.loads(server.run(probe_code(tries)))
        # and another student's server, with my own token
        reply = server.api("GET", "/api/contents", timeout=30)
        assert reply.status_code == 200
        other_server = record["users"][other]
        reply = hubclass.requests.get(
            other_server.base + "/api/contents", headers=server.headers, timeout=30
        )
        results[student]["open another student's server with my token"] = f"HTTP {reply.status_code}"
        server.close_kernel()
    return results


# --- the class's results ---


def test_the_released_lesson_is_the_learner_edition(the_class):
    answers = [
        c
        for c in the_class["alice fetched"]["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution")
    ]
    assert len(answers) == 3
    for cell in answers:
        source = hubclass.text(cell["source"])
        assert LEARNER_STUB in source and "BEGIN SOLUTION" not in source


def test_alice_full_marks_bob_zero_mallory_zero(the_class):
    names, grades = the_class["names"], the_class["grades"]
    scores = {who: float(grades[name]["score"]) for who, name in names.items()}
    assert scores == {"alice": MAX_SCORE, "bob": 0.0, "mallory": 0.0}, the_class["grade"]
    assert {float(grades[n]["max_score"]) for n in names.values()} == {MAX_SCORE}


def test_every_submission_is_recorded_under_its_students_name(the_class):
    d, names = the_class["deployment"], the_class["names"]
    assert set(the_class["grades"]) == set(names.values())  # no "root", no "jovyan"
    assert "cheating attempt" not in the_class["collect"], the_class["collect"]
    inbound = d.exchange / "inbound"
    entries = [p for p in inbound.iterdir() if "+" in p.name]
    assert len(entries) == 4  # alice twice, bob, mallory
    for entry in entries:
        owner = hubclass.pwd.getpwuid(entry.stat().st_uid).pw_name
        assert entry.name.split("+")[0] == owner and owner in names.values()
        assert entry.stat().st_gid == the_class["instructors_gid"]
        assert entry.stat().st_mode & 0o007 == 0, f"{entry} is open to others"
        for file in entry.iterdir():
            assert file.stat().st_mode & 0o007 == 0, f"{file} is readable by others"


def test_the_feedback_holds_no_hidden_test(the_class):
    for who, page in the_class["feedback"].items():
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert "Score" in text, who
        assert "BEGIN HIDDEN TESTS" not in text and "hidden=True" not in text, who
        assert "_checks.check_" not in text, who


def test_a_later_submission_is_graded(the_class):
    d, alice = the_class["deployment"], the_class["names"]["alice"]
    assert sum(p.name.startswith(alice + "+") for p in (d.exchange / "inbound").iterdir()) == 2
    assert float(the_class["grades"][alice]["score"]) == MAX_SCORE  # her first was untouched


def test_the_hub_restarted_mid_class_loses_no_submission(the_class):
    before, after = the_class["inbound before the restart"], the_class["inbound after the restart"]
    assert len(before) == 2 and before == after  # alice's first and bob's
    assert set(the_class["grades"]) == set(the_class["names"].values())  # all collected, graded


def test_a_server_killed_mid_fetch_leaves_the_exchange_usable(the_class):
    assert the_class["outbound unchanged after the kill"]
    fetched = [a for a in the_class["mallory fetch listing"]["value"] if a["status"] == "fetched"]
    assert [a["assignment_id"] for a in fetched] == [LESSON]  # mallory fetched meanwhile
    assert the_class["bob has the lesson"]  # and bob, once his server was started again
    assert the_class["names"]["bob"] in the_class["grades"]


@pytest.mark.parametrize("student", ["alice", "bob", "mallory"])
@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_a_student_cannot_read_what_is_not_theirs(the_class, student, attempt):
    outcome = the_class["attempts"][student][attempt]
    print(f"{student}: {attempt}: {outcome}")
    assert outcome.startswith("PermissionError"), f"{student} could {attempt}: {outcome}"


@pytest.mark.parametrize("student", ["alice", "bob", "mallory"])
def test_a_students_token_does_not_open_another_students_server(the_class, student):
    assert the_class["attempts"][student]["open another student's server with my token"] == "HTTP 403"


@pytest.mark.parametrize("student", ["alice", "bob", "mallory"])
@pytest.mark.parametrize("control", CONTROLS)
def test_the_probe_reads_what_it_may(the_class, student, control):
    """Controls: the same probe reads the student's own files and a world-readable one."""
    assert the_class["attempts"][student][control] == "READ"


def test_a_graded_submission_cannot_read_the_instructors_files(the_class):
    outcomes = the_class["graded probe"]
    print(json.dumps(outcomes, indent=1))
    assert len(outcomes) >= 4, "the probe in mallory's answer did not run"
    for label, outcome in outcomes.items():
        # the sandbox shows empty folders in place of the instructor's (LISTED 0) and nothing else
        assert outcome != "READ" and outcome not in {f"LISTED {n}" for n in range(1, 10**4)}, (
            f"the graded submission could {label}: {outcome}"
        )
