"""``engine.run --executor ray`` on a real local Ray cluster (2 CPUs) started by the test.

- The dataset of a run over 2 shard actors is byte-identical to the single-machine run's (same seed),
  and so are the store's per-dialog tables.
- A shard's worker killed mid-run (``ray.kill``, the process dies) is restarted; the run completes
  with every dialog exactly once: same dataset, same row counts, sound database; it replays from its
  store with no model call.
- ``--llm-concurrency`` holds across the cluster: two shards that could each send 3 calls at once
  never have more than 3 in flight together.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import ray

from engine.run import main
from engine.store import check_integrity

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]
N = 30
ARGS = [*WORLD, "--backend", "scripted", "--dialogs", str(N), "--concurrency", "4", "--quiet",
        "--run-id", "r1"]
TABLES = ("dialogs", "node_attempts", "turns", "llm_calls", "validations", "rollbacks")


@pytest.fixture(scope="module")
def cluster() -> ray:  # type: ignore[valid-type]
    ray.init(num_cpus=2, include_dashboard=False, namespace="convrec", configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("local")
    assert main([*ARGS, "--db", str(d / "run.db"), "--out", str(d / "out")]) == 0
    return d


def _counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _complete(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM dialogs WHERE record_json IS NOT NULL").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return -1


def test_two_actors_give_the_single_machine_dataset(cluster, local_run: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rc = main([*ARGS, "--executor", "ray", "--actors", "2", "--llm-concurrency", "3",
               "--db", str(tmp_path / "run.db"), "--out", str(tmp_path / "out")])
    assert rc == 0
    ours = (tmp_path / "out" / "dialogs.jsonl").read_bytes()
    assert ours == (local_run / "out" / "dialogs.jsonl").read_bytes()
    assert ours.count(b"\n") == N
    assert _counts(tmp_path / "run.db") == _counts(local_run / "run.db")
    import orjson

    summary = orjson.loads((tmp_path / "out" / "summary.json").read_bytes())
    [endpoint] = summary["endpoints"]
    # Each shard's own gateway would allow 3 (so 6 together); the cluster limiter allows 3 in all.
    assert 1 <= endpoint["max_in_flight"] <= 3
    assert endpoint["calls"] == summary["llm_calls"] == _counts(tmp_path / "run.db")["llm_calls"]


def test_a_killed_worker_restarts_and_every_dialog_is_stored_once(  # type: ignore[no-untyped-def]
        cluster, local_run: Path, tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    killed: list[int] = []

    def kill_midway() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _complete(db) < 6:
            time.sleep(0.02)
        worker = ray.get_actor("convrec-r1-shard-0", namespace="convrec")
        killed.append(ray.get(worker.pid.remote()))
        ray.kill(worker, no_restart=False)  # the process dies; Ray may restart it (max_restarts)

    killer = threading.Thread(target=kill_midway, daemon=True)
    killer.start()
    # Paced by the cluster-wide rpm (10 calls/s: the run lasts ~35 s), so the kill lands mid-run.
    rc = main([*ARGS, "--executor", "ray", "--actors", "2", "--rpm", "600",
               "--db", str(db), "--out", str(tmp_path / "out")])
    killer.join(timeout=60)
    assert rc == 0
    assert killed, "the worker was never killed"
    assert 6 <= _complete(db) == N
    log = (tmp_path / "out" / "run.log").read_text()
    assert '"event": "shard_restarted"' in log
    ours = (tmp_path / "out" / "dialogs.jsonl").read_bytes()
    assert ours == (local_run / "out" / "dialogs.jsonl").read_bytes()
    # None lost, none twice: the rows of the dialogs the dead worker had started too.
    assert _counts(db) == _counts(local_run / "run.db")
    assert check_integrity(db) == "ok"
    # Replay reads a Ray run's store like any other: strict (every answer from the store) and identical.
    assert main(["--replay", "--db", str(db), "--out", str(tmp_path / "replay"), "--quiet"]) == 0
    assert (tmp_path / "replay" / "replay.jsonl").read_bytes() == ours


def test_replay_refuses_the_ray_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*ARGS, "--executor", "ray", "--replay", "--db", str(tmp_path / "x.db")])
    assert rc == 2
    assert "replay runs on one machine" in capsys.readouterr().err


def test_several_endpoints_need_the_ray_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*WORLD, "--backend", "openai", "--model", "m", "--base-url", "http://a/v1,http://b/v1",
               "--db", str(tmp_path / "x.db"), "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 2
    assert "need --executor ray" in capsys.readouterr().err


def test_ray_data_embedding_equals_the_local_encoder(cluster) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from profiling.encoders import get_encoder
    from profiling.ray_embed import RayDataEncoder
    from profiling.sample_world import WorldConfig, load_sample_world
    from profiling.sentences import sentence_table

    corpus = load_sample_world(WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=600, n_aspects=14))
    texts = [*sentence_table(corpus).texts, "", "zzqx qqzx"]  # an empty text and one of unknown tokens
    remote = RayDataEncoder("fast", workers=2, batch_size=500).encode(texts)
    local = get_encoder("fast", cache=False).encode(texts)
    assert remote.shape == local.shape and len(texts) > 1000
    np.testing.assert_allclose(remote, local, rtol=0, atol=1e-6)  # same rows, same order


def test_embed_on_ray_runs_stage_one_there(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A world no other test profiles, so stage 1 really runs (nothing cached) with the Ray Data job.
    world = ["--world-seed", "11", "--world-items", "40", "--world-users", "50", "--world-reviews", "700",
             "--world-aspects", "12"]
    rc = main([*world, "--backend", "scripted", "--dialogs", "4", "--quiet", "--embed-on", "ray",
               "--actors", "2", "--db", str(tmp_path / "run.db"), "--out", str(tmp_path / "out")])
    assert rc == 0
    assert (tmp_path / "out" / "dialogs.jsonl").read_bytes().count(b"\n") == 4
    assert '"event": "embedded_on_ray"' in (tmp_path / "out" / "run.log").read_text()


def test_ctrl_c_drains_every_shard_and_resume_completes(  # type: ignore[no-untyped-def]
        cluster, local_run: Path, tmp_path: Path) -> None:
    import os
    import signal

    db, out = tmp_path / "run.db", tmp_path / "out"

    def interrupt_midway() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _complete(db) < 6:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)  # the driver's handler drains (this is the main process)

    threading.Thread(target=interrupt_midway, daemon=True).start()
    rc = main([*ARGS, "--executor", "ray", "--actors", "2", "--rpm", "600", "--db", str(db),
               "--out", str(out)])
    assert rc == 130
    stopped = _complete(db)
    assert 6 <= stopped < N
    rc = main(["--resume", "--executor", "ray", "--actors", "2", "--db", str(db), "--out", str(out),
               "--quiet"])
    assert rc == 0
    assert (out / "dialogs.jsonl").read_bytes() == (local_run / "out" / "dialogs.jsonl").read_bytes()
    assert _counts(db) == _counts(local_run / "run.db")
