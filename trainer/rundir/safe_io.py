"""Reading and writing a run's files safely: never through a symbolic link, whole files
replaced atomically, one writer per directory (Lock)."""
import errno
import os
import secrets
import weakref
from pathlib import Path

from trainer.errors import RunDirError

LOCK = ".lock"  # held (flock) by the one process writing the directory; holds its pid
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def is_disk_full(error):
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


class Lock:
    """One writer per directory: an exclusive flock on DIR/.lock, with the holder's pid
    written in it. The OS releases it when the holder exits or dies, so a lock file left by
    a killed process never blocks; a second writer gets a RunDirError naming the holder."""

    def __init__(self, directory):
        import fcntl
        self.fd = None
        path = Path(directory) / LOCK
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o666)
        except OSError as e:
            raise RunDirError(f"{path}: cannot open the lock file ({e.strerror or e})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip()
            os.close(self.fd)
            self.fd = None
            raise RunDirError(f"{directory}: another train process (pid {holder or 'unknown'}) "
                              "is writing there; wait for it to end") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _close_in_child(ref))

    def release(self):
        if self.fd is not None:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = None

    __del__ = release


def _close_in_child(ref):
    """In a forked child (the figure helper and its forks): close the child's copy of the lock's
    descriptor. The parent's lock stays held, and the child no longer holds it too: a child
    outliving a killed parent would otherwise keep the run locked against its resume."""
    lock = ref()
    if lock is not None and lock.fd is not None:
        try:
            os.close(lock.fd)
        except OSError:
            pass
        lock.fd = None


def read_nofollow(path, limit=None):
    """The bytes of a run's file, never through a symbolic link (ELOOP names it as one)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "is a symbolic link; run files are not read through links",
                          str(path)) from None
        raise
    with os.fdopen(fd, "rb") as f:
        return f.read() if limit is None else f.read(limit)


def atomic_write(path, write, durable=True):
    """Replace `path` with what write(file) writes, so readers see the old or the new whole file;
    durable: fsync the file before the rename and the directory after it. The file gets the
    usual permissions (0666 less the umask, applied by the OS). A symlink at `path` is
    replaced, never followed."""
    path = Path(path)
    tmp = path.parent / f".{path.name}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
