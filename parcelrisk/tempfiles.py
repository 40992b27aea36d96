"""Private temporary folders: ``$TMPDIR/parcelrisk-<pid>-*``, mode 0700, files 0600.

Scoring keeps validated rows (names and addresses included) in a temporary
folder while it runs, and an MLflow model is downloaded to one before it is
loaded. A run killed with SIGKILL cannot remove its folder, so every new
folder first removes the folders of parcelrisk processes that no longer run
(the process id is part of the name; only folders of the current user).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["private_tempdir", "remove_stale", "private_file", "PREFIX"]

PREFIX = "parcelrisk-"
_NAME = re.compile(rf"^{PREFIX}(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process with that id: alive
        return True
    return True


def remove_stale(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove ``parcelrisk-<pid>-*`` folders of this user whose process is gone; return them."""
    root = Path(folder or tempfile.gettempdir())
    removed: list[Path] = []
    uid = os.getuid()
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = _NAME.match(path.name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if info.st_uid != uid or not path.is_dir() or path.is_symlink():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def private_tempdir() -> Iterator[Path]:
    """A fresh ``parcelrisk-<pid>-*`` folder (0700), removed on exit; stale ones go first."""
    remove_stale()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-") as tmp:
        yield Path(tmp)


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create (or truncate) ``path`` readable by its owner only (0600) and return it.

    Writers that open the path afterwards (pyarrow, pandas) truncate it and keep the
    mode, so rows with names and addresses are never in a file others could read.
    """
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return Path(path)
