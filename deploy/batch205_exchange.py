"""nbgrader's exchange with submissions and feedback readable only by their student and the instructors.

nbgrader's own exchange (0.9) hides a student's work from the others only by its name: a
submission is written world-readable into ``inbound/`` (which students cannot list) under a
name ending in 12 random characters, and the feedback world-readable into ``feedback/`` under a
keyed hash. Anyone who learns such a path reads the file. This deployment closes that with plain
Unix permissions, configured in ``deploy/nbgrader_config.py``:

* :class:`PrivateSubmit`: a submission's folder gets mode ``0770`` and its files ``0640``, each
  with a POSIX ACL entry for the group of ``inbound/``, which ``deploy/setup.sh`` makes the
  course's instructors group: the instructors collect it, nobody else can open it.
* :class:`PrivateReleaseFeedback`: each released feedback file gets mode ``0640`` plus a POSIX ACL
  entry that lets its student, the Unix user of the same name, read it. A student id that is not a Unix user gets
  no entry: nobody but the instructors can read that feedback (logged as a warning).

The file system of the exchange must support POSIX ACLs (ext4, xfs and btrfs do by default).

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
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
READ, WRITE, EXECUTE = 4, 2, 1


def set_acl(path: str, owner: int, group: int, *, user: int = -1, named_group: int = -1, to=0):
    """Set ``path``'s mode to owner/group permissions, nothing for others, and let one more
    user or group (uid ``user`` or gid ``named_group``) have permissions ``to``: as
    ``chmod`` and ``setfacl -m u:USER:r`` in one write. Only the owner (or root) may."""
    entries = [(_USER_OBJ, owner, _NO_ID)]
    if user >= 0:
        entries.append((_USER, to, user))
    entries.append((_GROUP_OBJ, group, _NO_ID))
    if named_group >= 0:
        entries.append((_GROUP, to, named_group))
    entries += [(_MASK, group | to, _NO_ID), (_OTHER, 0, _NO_ID)]
    data = struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)
    os.setxattr(path, "system.posix_acl_access", data)


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` whose submission only its student and the instructors' group can read."""

    def set_perms(self, dest, fileperms, dirperms):
        # nbgrader asks for 0644 files and 0755 folders: drop what it gives everybody
        super().set_perms(dest, fileperms & 0o770, (dirperms & 0o770) | 0o070)

    def copy_files(self):
        super().copy_files()
        # The instructors' group: that of inbound/. The submission's folder was made in
        # inbound/ (set-group-id) and has that group, but copying cleared its set-group-id bit,
        # so nbgrader's timestamp.txt and submission_secret.txt have the student's group; the
        # student, not a member, cannot give them that group, but can name it in an ACL.
        instructors = os.stat(self.inbound_path).st_gid
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        for folder, _, files in os.walk(dest):
            for name in files:
                path = os.path.join(folder, name)
                set_acl(path, READ | WRITE, READ, named_group=instructors, to=READ)
            # nbgrader finally makes the folder 0777 "so the instructor can delete later"
            set_acl(folder, 7, 7, named_group=instructors, to=7)


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
            set_acl(released, READ | WRITE, READ, user=uid, to=READ)
