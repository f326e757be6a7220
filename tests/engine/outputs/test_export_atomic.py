"""An export killed while it writes leaves the previous export whole (or the new one), never a mix.

A folder holds an export of a real run (accepted dialogs only). A second ``python -m engine.export``
(failed dialogs included: other files, other bytes) writes over it and is killed with SIGKILL once it
has written 1, 3, 6 or 10 files. After each kill the folder must be byte for byte the old export or
the new one: every file its manifest lists, no other, each Parquet file readable. A later export over
it must succeed and clear what the killed one left beside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.outputs import ExportError, export_run
from engine.store.reader import read_run
from tests.support.paths import REPO
from tests.support.runs import make_run

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("atomic_run"), dialogs=40)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _state(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, mtime in ns, size) of every file under ``root``."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(FileNotFoundError):  # renamed or deleted under us
                st = os.stat(path)
                out[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def _written(root: Path, before: dict[str, tuple[int, int, int]]) -> int:
    """Files under ``root`` that are new or were rewritten since ``before``."""
    return sum(before.get(path) != st for path, st in _state(root).items())


def test_a_sigkill_mid_export_leaves_the_old_export_or_the_new_one(db: Path, tmp_path: Path) -> None:
    run = read_run(db)
    old, new = tmp_path / "ref_old", tmp_path / "ref_new"
    export_run(run, old)
    export_run(run, new, include_failed=True)
    old_files, new_files = _snapshot(old), _snapshot(new)
    assert old_files != new_files and "manifest.json" in old_files
    parent = tmp_path / "target"
    target = parent / "export"
    export_run(run, target)
    assert _snapshot(target) == old_files
    killed_mid_export = 0
    for after in (1, 3, 6, 10):
        files_before = _state(parent)
        proc = subprocess.Popen([sys.executable, "-m", "engine.export", str(db), "--out", str(target),
                                 "--include-failed", "--quiet"], cwd=REPO, env=os.environ.copy(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        written = 0
        while proc.poll() is None and written < after and time.monotonic() < deadline:
            time.sleep(0.0005)
            written = _written(parent, files_before)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = _snapshot(target) if target.exists() else {}
        print("kill", {"after_files": written, "returncode": proc.returncode,
                       "left": "old" if now == old_files else "new" if now == new_files else "mixed"})
        assert now in (old_files, new_files), (after, written, sorted(now))
        # Killed, and after it had written files: a kill in the middle of the export.
        killed_mid_export += proc.returncode == -signal.SIGKILL and written >= after
        for name in now:  # the manifest lists every other file; each Parquet file reads
            if name.endswith(".parquet"):
                pq.read_table(target / name)
        # Put the old export back for the next kill (an export over a killed one's leftovers).
        export_run(run, target)
        assert _snapshot(target) == old_files
        assert [p.name for p in parent.iterdir()] == ["export"]  # leftovers of the killed one cleared
    assert killed_mid_export >= 2  # the kills did land while the export was writing


def test_a_folder_that_is_not_an_export_is_refused_and_left_alone(db: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(ExportError, match="not an export"):
        export_run(read_run(db), mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no staging folder left behind
