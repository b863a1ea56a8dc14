"""nbgrader's exchange with submissions and feedback readable only by their student and the instructors.

nbgrader's own exchange (0.9) hides a student's work from the others only by its name: a
submission is written world-readable into ``inbound/`` (which students cannot list) under a
name ending in 12 random characters, and the feedback world-readable into ``feedback/`` under a
keyed hash. Anyone who learns such a path reads the file. This deployment closes that with plain
Unix permissions, configured in ``deploy/nbgrader_config.py``:

* :class:`PrivateSubmit`: a submission's folder gets mode ``2770`` and its files ``0640``. The
  folder's group is that of ``inbound/`` (``inbound/`` is set-group-id, as nbgrader makes it),
  which ``deploy/setup.sh`` makes the course's instructors group, so the instructors collect it
  and nobody else can open it.
* :class:`PrivateReleaseFeedback`: each released feedback file gets mode ``0640`` plus a POSIX ACL
  entry that lets its student, the Unix user of the same name, read it (the file system must
  support ACLs, as ext4, xfs and btrfs do by default). A student id that is not a Unix user gets
  no entry: nobody but the instructors can read that feedback (logged as a warning).

Install: copied into the course environment's ``site-packages`` by ``deploy/setup.sh env``.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import struct

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

# Linux's "system.posix_acl_access" extended attribute: a version, then (tag, permissions, id)
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_READ, _WRITE = 4, 2


def allow_user_to_read(path: str, uid: int) -> None:
    """``chmod 640 path`` and ``setfacl -m u:UID:r path``, in one write of the ACL."""
    entries = [
        (_USER_OBJ, _READ | _WRITE, _NO_ID),
        (_USER, _READ, uid),
        (_GROUP_OBJ, _READ, _NO_ID),
        (_MASK, _READ, _NO_ID),
        (_OTHER, 0, _NO_ID),
    ]
    data = struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(path, "system.posix_acl_access", data)


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` whose submission only its student and the instructors' group can read."""

    def set_perms(self, dest, fileperms, dirperms):
        # nbgrader asks for 0644 files and 0755 folders: drop what it gives everybody
        super().set_perms(dest, fileperms & 0o770, (dirperms & 0o770) | 0o070)

    def copy_files(self):
        super().copy_files()
        # nbgrader finally makes the submission's folder 0777 "so the instructor can delete later"
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o2770)


class PrivateReleaseFeedback(ExchangeReleaseFeedback):
    """``nbgrader release_feedback`` whose files only their student and the instructors can read."""

    def copy_files(self):
        super().copy_files()
        # find each released file again as nbgrader named it: the hash of the submission's secret
        pattern = re.escape(os.path.sep).join(
            [
                self.coursedir.format_path(
                    self.coursedir.feedback_directory,
                    "(?P<student_id>.*)",
                    self.coursedir.assignment_id,
                    escape=True,
                ),
                "(?P<notebook_id>.*).html",
            ]
        )
        for html_file in glob.glob(os.path.join(self.src_path, "*.html")):
            match = re.match(pattern, html_file)
            if match is None:
                continue
            student, notebook = match.group("student_id"), match.group("notebook_id")
            folder = os.path.dirname(html_file)
            with open(os.path.join(folder, "submission_secret.txt")) as fh:
                secret = fh.read()
            released = os.path.join(
                self.dest_path, f"{notebook_hash(secret=secret, notebook_id=notebook)}.html"
            )
            if not os.path.isfile(released):
                continue
            try:
                uid = pwd.getpwnam(student).pw_uid
            except KeyError:
                os.chmod(released, 0o640)
                self.log.warning(
                    "Student %r is not a Unix user: their feedback %s is readable by the "
                    "instructors only",
                    student,
                    released,
                )
                continue
            allow_user_to_read(released, uid)
