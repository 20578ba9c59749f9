# SPDX-License-Identifier: MIT
"""Output files that appear whole or not at all, checked before any work.

Owns: the unnamed temporary file (O_TMPFILE where the file system has it, so
even a killed process leaves nothing behind) and its publication by rename.
Must not: know what is written. The C side (bench/rfile.c) names its
fallback temporary files the same way, ".NAME.tmp.PID.*", and removes those
of dead processes."""

import ctypes
import errno
import os
import tempfile

from .load import ReportError


_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400


def _link_fd(fd, path):
    """Give the unnamed file fd a name: linkat(2) through /proc with
    AT_SYMLINK_FOLLOW (os.link would link the /proc symlink itself)."""
    libc = ctypes.CDLL(None, use_errno=True)
    src = f"/proc/self/fd/{fd}".encode()
    if libc.linkat(_AT_FDCWD, src, _AT_FDCWD, os.fsencode(path), _AT_SYMLINK_FOLLOW) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e or errno.EIO))


class OutFile:
    def __init__(self, path, opt):
        self.path = path
        self.opt = opt
        self.fd = None
        self.tmp = None
        if not path:
            raise ReportError(f"{opt}: empty path")
        if os.path.isdir(path):
            raise ReportError(f"{opt} {path}: is a directory")
        d = os.path.dirname(os.path.abspath(path))
        try:
            self.fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
        except (OSError, AttributeError):
            try:
                fd, self.tmp = tempfile.mkstemp(
                    dir=d, prefix=f".{os.path.basename(path)}.tmp.{os.getpid()}.")
                self.fd = fd
            except OSError as e:
                raise ReportError(f"{opt}: cannot write {path}: {e.strerror}") from None

    def put(self, text):
        data = text.encode("utf-8")
        try:
            off = 0
            while off < len(data):
                off += os.write(self.fd, data[off:])
            os.fchmod(self.fd, 0o644)
            if self.tmp is None:
                # Name the unnamed file beside the target, then rename over it.
                d = os.path.dirname(os.path.abspath(self.path))
                tmp = os.path.join(d, f".{os.path.basename(self.path)}.tmp.{os.getpid()}.link")
                _link_fd(self.fd, tmp)
                self.tmp = tmp
            os.close(self.fd)
            self.fd = None
            os.replace(self.tmp, self.path)
            self.tmp = None
        except OSError as e:
            self.abort()
            raise ReportError(f"{self.opt}: writing {self.path}: {e.strerror}") from None

    def abort(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None
