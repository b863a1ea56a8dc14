"""Containment of one submission's grading kernel: limits, a private home, a sandbox, no leftovers.

A submission is code written by a student and run by nbgrader with the instructor's rights. Each
submission is graded in its own worker process (``course_utils.classroom.grade_worker``) which
starts the notebook's kernel through :class:`ContainedKernelManager`:

* **resource limits** (``setrlimit`` in a tiny wrapper that then ``exec``\\ s the kernel): address
  space (memory), CPU seconds, size of any file written, no core dumps, and the number of
  processes (``RLIMIT_NPROC``; it does not bind root, see below);
* **a watchdog thread** in the worker that counts the kernel's processes, their memory and CPU
  time and the bytes written to its folders, and kills the whole process tree when one goes past
  its limit. The worker is a *child subreaper* (Linux), so a process that detaches itself (double
  fork, ``setsid``) is re-parented to the worker and stays in the tree that is counted and killed.
  This is what stops a fork loop when the grader runs as root;
* **a temporary home and working folder**: ``HOME`` and ``TMPDIR`` point into the worker's scratch
  folder, the kernel runs in the worker's own copy of the submission;
* **bubblewrap** (``bwrap``, Debian package ``bubblewrap``) when it is installed and works: the
  kernel then sees the file system read-only except its working folder, its home and its ``/tmp``;
  the instructor's home, the course's ``lessons/``, ``submitted/``, ``autograded/``,
  ``feedback/``, ``release/`` and ``gradebook.db`` are replaced by empty read-only folders; and it
  runs in its own process namespace, so every process it started dies with it.

A limit that is broken stops the submission: :class:`ContainedExecute` raises
:class:`LimitExceededError`, which nbgrader handles as it handles a crashed kernel (the
submission is not graded and scores 0), and the batch goes on with the next student. Which limit
it was is written in the worker's result and shown in the summary.

Not contained: the kernel still runs as the instructor's user. Without bubblewrap it can read and
write every file that user can (by absolute path), and reach the network; with bubblewrap it can
still read files outside the folders hidden above and reach the network.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

from .limits import Limits

MiB = 2**20
TOKEN_VARIABLE = "BATCH205_GRADING_TOKEN"  # in the environment of every process a kernel starts


class LimitExceededError(RuntimeError):
    """A submission went past one of its limits; nbgrader scores it as a crashed notebook."""


# --- the process that starts the kernel: rlimits, then exec ---

# Run as ``python -c RLIMITS as cpu fsize nproc -- command...``: sets the limits on itself and
# becomes the command (or bwrap), which inherits them. A wrapper rather than Popen's preexec_fn,
# which is unsafe in a process with threads (the worker has the watchdog and nbclient's).
# A limit already lower (set on the grader itself) is kept: a process may lower, not raise.
# With bubblewrap, SIGINT is ignored from here on: nbclient interrupts a cell past its timeout
# with SIGINT to the whole process group, which would end bwrap itself and with it the kernel;
# ipykernel installs its own SIGINT handler while it executes a cell, so the cell still stops.
RLIMITS = """
import os, resource, signal, sys
def limit(which, soft, hard):
    _, current = resource.getrlimit(which)
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(which, (soft, hard))
memory, cpu, fsize, nproc, ignore_sigint = (int(x) for x in sys.argv[1:6])
if ignore_sigint:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
limit(resource.RLIMIT_AS, memory, memory)
limit(resource.RLIMIT_CPU, cpu, cpu + 5)
limit(resource.RLIMIT_FSIZE, fsize, fsize)
limit(resource.RLIMIT_CORE, 0, 0)
if nproc > 0:
    limit(resource.RLIMIT_NPROC, nproc, nproc)
os.execvp(sys.argv[7], sys.argv[7:])
"""


@dataclass(frozen=True)
class Box:
    """Where one submission's kernel lives: its folders, its limits, the folders it must not see.

    ``workdir`` is the kernel's working folder (in the worker's copy of the course), ``home`` its
    ``HOME``, ``tmp`` its ``TMPDIR`` (``/tmp`` in the sandbox), ``hidden`` the folders and files
    that the sandbox replaces by empty read-only ones.
    """

    limits: Limits
    workdir: Path
    home: Path
    tmp: Path
    empty: Path
    hidden: tuple[Path, ...]
    token: str

    def environment(self, env: dict) -> dict:
        env = dict(env)
        env.update(HOME=str(self.home), TMPDIR=str(self.tmp), **{TOKEN_VARIABLE: self.token})
        # the kernel reads full MNIST from the instructor's cache, not from its empty home
        if "BATCH205_DATA" not in env:
            from .. import data

            env["BATCH205_DATA"] = str(data.data_dir())
        return env

    def command(self, kernel_cmd: list[str]) -> list[str]:
        limits = self.limits
        nproc = 0
        if os.getuid() != 0:  # root is not bound by RLIMIT_NPROC; the watchdog counts instead
            nproc = limits.processes + _processes_of_this_user()
        wrapper = [sys.executable, "-c", RLIMITS]
        wrapper += [str(limits.memory_mb * MiB), str(limits.cpu_seconds)]
        wrapper += [str(limits.file_size_mb * MiB), str(nproc), str(int(limits.uses_bwrap)), "--"]
        return wrapper + (self.bwrap_args() if limits.uses_bwrap else []) + list(kernel_cmd)

    def bwrap_args(self) -> list[str]:
        args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        # /tmp is the kernel's own (the other students' copies are in the real one). What the
        # kernel needs to run, Python and the course, may itself live under /tmp (a course cloned
        # there): it is put back, read-only, before the hidden folders are hidden.
        args += ["--bind", str(self.tmp), "/tmp"]
        for path in _needed_to_run():
            if path.is_relative_to("/tmp") and path.exists():
                args += ["--ro-bind", str(path), str(path)]
        for path in self.hidden:
            if path.is_dir():
                args += ["--ro-bind", str(self.empty), str(path)]
            elif path.exists():
                args += ["--ro-bind", "/dev/null", str(path)]
        # then its home and working folder at their real paths (mount points made inside its /tmp)
        for path in (self.home, self.workdir, self.tmp):  # the connection file is in tmp
            args += ["--bind", str(path), str(path)]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        # ipykernel ends itself when its parent is not JPY_PARENT_PID, a pid of the outer
        # namespace; the sandbox already ends with its parent (--die-with-parent)
        args += ["--unsetenv", "JPY_PARENT_PID", "--"]
        return args


def _needed_to_run() -> list[Path]:
    """The folders a kernel needs to start: this Python's environment and the course's package."""
    package = Path(__file__).resolve().parents[1]  # course_utils, above this classroom/
    return [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), package.parent]


def _processes_of_this_user() -> int:
    import psutil

    uid = os.getuid()
    count = 0
    for process in psutil.process_iter(["uids"]):
        uids = process.info.get("uids")
        count += bool(uids and uids.real == uid)
    return count


# --- the worker's state: one submission per worker process ---


class Tripwire:
    """The first limit a submission broke (the watchdog, the output hook and the checks set it)."""

    def __init__(self):
        self.limit = ""
        self.message = ""
        self._lock = threading.Lock()

    def trip(self, limit: str, message: str) -> bool:
        with self._lock:
            if self.limit:
                return False
            self.limit, self.message = limit, message
            return True


BOX: Box | None = None  # set by the worker before nbgrader starts the kernel
TRIPWIRE = Tripwire()


def become_subreaper() -> bool:
    """Orphaned descendants of this process are re-parented to it (Linux), not to init."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _descendants():
    import psutil

    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def _reap(keep: int | None = None) -> None:
    """Collect the exit status of dead children (re-parented orphans), except the kernel's own."""
    import psutil

    for child in psutil.Process().children():
        if child.pid == keep:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            pass


def kill_tree(keep: int | None = None) -> None:
    """SIGKILL every descendant of this process until none is left (a fork loop races us)."""
    import psutil

    for _ in range(200):
        alive = []
        for process in _descendants():
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.Error:
                pass
        if not alive:
            break
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                pass
        _reap(keep)
        time.sleep(0.02)
    _reap(keep)


def kill_marked(token: str) -> int:
    """Kill every process whose environment carries ``token``: the main process's last resort."""
    import psutil

    killed = 0
    for process in psutil.process_iter():
        try:
            if process.environ().get(TOKEN_VARIABLE) == token:
                process.kill()
                killed += 1
        except psutil.Error:
            pass
    return killed


def folder_bytes(folders) -> int:
    total = 0
    for folder in folders:
        for parent, _, files in os.walk(folder):
            for name in files:
                try:
                    total += os.lstat(os.path.join(parent, name)).st_size
                except OSError:
                    pass
    return total


class Watchdog(threading.Thread):
    """Counts the kernel's processes (often), their memory, CPU time and disk use (less often).

    Past a limit it trips the tripwire and kills the whole tree; nbclient then sees a dead
    kernel, and :class:`ContainedExecute` reports the limit instead of the death.
    """

    def __init__(self, box: Box, kernel_pid: int):
        super().__init__(daemon=True, name="batch205-watchdog")
        self.box, self.kernel_pid = box, kernel_pid
        self.stopped = threading.Event()
        self.start_time = time.monotonic()

    def run(self):
        import psutil

        limits, tick = self.box.limits, 0
        while not self.stopped.wait(0.05):
            tick += 1
            processes = [p for p in _descendants() if _alive(p)]
            if len(processes) > limits.processes:
                self.stop_all("processes", f"more than {limits.processes} processes at once")
                continue
            if tick % 10:
                _reap(self.kernel_pid)
                continue
            memory, cpu = 0, 0.0
            for process in processes:
                try:
                    memory += _proportional_memory(process)
                    times = process.cpu_times()
                    cpu += times.user + times.system
                except psutil.Error:
                    pass
            if memory > limits.memory_mb * MiB:
                self.stop_all("memory", f"its processes used more than {limits.memory_mb} MiB")
            elif cpu > limits.cpu_seconds:
                self.stop_all("CPU time", f"more than {limits.cpu_seconds} s of CPU time")
            elif time.monotonic() - self.start_time > limits.wall_seconds:
                self.stop_all("wall-clock time", f"ran for more than {limits.wall_seconds} s")
            elif tick % 20 == 0:
                folders = (self.box.workdir, self.box.home, self.box.tmp)
                if folder_bytes(folders) > limits.disk_mb * MiB:
                    self.stop_all("disk", f"wrote more than {limits.disk_mb} MiB")

    def stop_all(self, limit: str, message: str) -> None:
        TRIPWIRE.trip(limit, message)
        kill_tree(keep=self.kernel_pid)
        _reap(None)


def _proportional_memory(process) -> int:
    """Resident memory, shared pages divided among their sharers (Linux PSS; elsewhere RSS).

    The children of a fork share the parent's pages: adding up their RSS would count them once
    per child and call a fork loop a memory hog.
    """
    import psutil

    if sys.platform.startswith("linux"):
        try:
            return process.memory_full_info().pss
        except (psutil.AccessDenied, AttributeError):
            pass
    return process.memory_info().rss


def _alive(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class ContainedKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, starting the kernel inside the worker's :class:`Box`."""

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if BOX is None:
            raise RuntimeError(
                "ContainedKernelManager is used by course_utils.classroom.grade_worker only"
            )
        # nbclient runs the kernel in the notebook's folder: the worker's copy of the submission
        box = replace(BOX, workdir=Path(kw.get("cwd") or os.getcwd()).resolve())
        kw["env"] = box.environment(kw.get("env") or os.environ)
        await super()._async_launch_kernel(box.command(kernel_cmd), **kw)
        self._watchdog = Watchdog(box, self.provisioner.pid)
        self._watchdog.start()

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            watchdog = getattr(self, "_watchdog", None)
            if watchdog is not None:
                watchdog.stopped.set()
            kill_tree()  # whatever the kernel started, detached or not, ends with it


class ContainedExecute(Execute):
    """nbgrader's Execute, with the contained kernel, an output limit and limits turned into errors.

    A cell that raised ``MemoryError`` (the address-space limit) or ``OSError`` ``EFBIG`` (the
    file-size limit), output past ``Limits.output_mb``, or a kernel killed by the watchdog stop the
    notebook with :class:`LimitExceededError`.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", ContainedKernelManager)
        super().__init__(*args, **kwargs)
        self._output_bytes = 0

    def preprocess(self, nb, resources=None, km=None):
        try:
            result = super().preprocess(nb, resources, km)
        except LimitExceededError:
            raise
        except Exception as error:
            if TRIPWIRE.limit:
                raise LimitExceededError(_message()) from error
            raise
        if TRIPWIRE.limit:  # tripped after the last cell (e.g. by a process it left behind)
            raise LimitExceededError(_message())
        return result

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(
            len(value) if isinstance(value, str) else len(json.dumps(value))
            for value in content.get("data", {}).values()
        )
        self._output_bytes += size
        limit = BOX.limits.output_mb * MiB if BOX else None
        if limit and self._output_bytes > limit:
            if TRIPWIRE.trip("output", f"printed more than {BOX.limits.output_mb} MiB"):
                kill_tree(keep=self.km.provisioner.pid if self.km.provisioner else None)
            return None  # dropped: the notebook is stopped anyway
        return super().output(outs, msg, display_id, cell_index)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, index = kwargs["cell"], kwargs.get("cell_index")
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename", "").endswith("MemoryError"):
                TRIPWIRE.trip("memory", f"MemoryError in {where} (limit {BOX.limits.memory_mb} MiB)")
            elif f"[Errno {errno.EFBIG}]" in output.get("evalue", ""):
                TRIPWIRE.trip(
                    "file size",
                    f"wrote a file past {BOX.limits.file_size_mb} MiB in {where}",
                )
        if TRIPWIRE.limit:
            raise LimitExceededError(_message())


def _message() -> str:
    return f"{TRIPWIRE.limit} limit: {TRIPWIRE.message}"


def is_read_only_error(output) -> bool:
    """An error output of a write into a folder the sandbox made read-only."""
    return output.get("output_type") == "error" and f"[Errno {errno.EROFS}]" in output.get("evalue", "")
