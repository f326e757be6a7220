"""Writing a folder all at once: a staging folder beside it, fsynced, then renamed into place.

An export killed while it writes must leave either the previous export or the new one, never a
truncated ``train.parquet`` under its final name or an old manifest beside new files. So:

1. everything is written under a staging folder beside the target (``.<name>.partial-<pid>-<token>``,
   the manifest last);
2. every file is fsynced, then every folder (bottom up);
3. the staging folder takes the target's place: where the target does not exist (or is an empty
   folder) by one ``rename``; over an earlier export by ``renameat2(RENAME_EXCHANGE)`` (Linux 3.15+
   and its main file systems), one atomic swap, after which the old export, now in the staging
   folder's name, is deleted. Where the swap is not available the old export is first renamed aside
   (``.<name>.old-<pid>-<token>``): a kill in the instant between the two renames leaves no folder
   at the target, the old export aside and the new one complete in the staging folder.

Leftovers of a killed export (staging or set-aside folders whose process is gone) are deleted by the
next export to the same target. A target that holds anything but an earlier export (no
``manifest.json``) is refused: replacing it would delete someone's files.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
from pathlib import Path

__all__ = ["check_target", "publish", "staging_folder"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def check_target(out: Path, marker: str = "manifest.json") -> str | None:
    """Why ``out`` may not be replaced by an export (None: it may: missing, empty, or an export)."""
    if not out.exists():
        return None
    if not out.is_dir():
        return f"{out} is a file, not a folder"
    if (out / marker).is_file() or not any(out.iterdir()):
        return None
    return (f"{out} holds files that are not an export (no {marker}); an export replaces its folder "
            "whole, so choose a new or empty folder")


def _pid_of(name: str) -> int | None:
    try:
        return int(name.rsplit("-", 2)[-2])
    except (ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def staging_folder(out: Path) -> Path:
    """A new, empty staging folder beside ``out`` (after deleting leftovers of dead exports)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for prefix in (f".{out.name}.partial-", f".{out.name}.old-"):
        for left in out.parent.glob(prefix + "*"):
            pid = _pid_of(left.name)
            if pid is not None and pid != os.getpid() and not _alive(pid):
                shutil.rmtree(left, ignore_errors=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    return tmp


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Every file under ``root`` to disk, then every folder, deepest first (their entries)."""
    folders = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            _fsync(Path(dirpath) / name)
        folders += [Path(dirpath) / d for d in dirnames]
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        _fsync(folder)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def publish(tmp: Path, out: Path) -> None:
    """Put the complete folder ``tmp`` in ``out``'s place (see the module docstring)."""
    _fsync_tree(tmp)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(tmp, out)
    elif _exchange(tmp, out):
        shutil.rmtree(tmp)  # the old export, now under the staging name
    else:
        aside = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(out, aside)
        os.rename(tmp, out)
        shutil.rmtree(aside)
    _fsync(out.parent)
