"""``python -m engine.export``: a real scripted run's trace store exported and read back.

The run is a real ``engine.run`` on the small sample world of tests/engine/test_engine_run.py. Its model
client is wrapped, at the backend seam, by the fault-planting client of tests/support/fault_clients.py, so
the trace holds retried nodes (a system turn that asks nothing in elicit on the first attempt) and
rollbacks (a user turn in clarify that always speaks as the assistant), as real model runs do.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from engine.export import main
from engine.outputs import export_run
from engine.outputs.layout import record_from_parquet, record_from_release
from engine.store.reader import read_run
from tests.support.runs import make_run

SPLITS = ("train", "validation", "test")

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("export_run"))


def _store_records(db: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (db.parent / "out" / "dialogs.jsonl").read_bytes().splitlines()]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def test_the_run_has_retries_rollbacks_and_every_split(db: Path) -> None:
    records = _store_records(db)
    assert sum(r["n_attempts"] for r in records) > sum(len(set(r["plan"]["path"])) for r in records) // 2
    assert any(r["n_rollbacks"] for r in records)
    assert {r["split"] for r in records} == set(SPLITS)


def test_jsonl_round_trip_in_the_release_layout(db: Path, tmp_path: Path) -> None:
    run = read_run(db)
    summary = export_run(run, tmp_path, include_failed=True)
    lines = [x for s in SPLITS for x in _lines(tmp_path / "jsonl" / f"{s}.jsonl")]
    back = {x["dialog_id"]: record_from_release(x) for x in lines}
    store = {r["dialog_id"]: r for r in _store_records(db)}
    assert back == store  # every dialog, key for key
    assert sum(summary.per_split.values()) == len(store)
    for x in lines:
        # What the MobileConvRec training scripts read: names under user_previous_interactions and
        # recommended_<domain>, and one speaker key per turn.
        assert x["domain"] == "product"
        assert all(
            {"product_id", "product_name", "date", "rating"} <= set(h)
            for h in x["user_previous_interactions"]
        )
        name = x["recommended_product"]["product_name"]
        speakers = [[k for k in ("COMPUTER", "HUMAN") if k in t] for t in x["turns"]]
        assert all(len(s) == 1 for s in speakers)
        recs = [t for t in x["turns"] if t["is_recommendation"]]
        assert all("COMPUTER" in t and t["super_node"].startswith("recommend_") for t in recs)
        if x["status"] == "accepted":
            # Their loaders find the recommendation turn as the first COMPUTER turn naming the item.
            first = next(k for k, t in enumerate(x["turns"]) if name in t.get("COMPUTER", ""))
            assert x["turns"][first]["recommended_item"] == x["recommended_product"]["product_id"]
            assert x["accepted"] and not x["fidelity_failed"]
            assert all(v["passed"] is not None for v in x["verdicts"])
        assert x["n_attempts"] == len(x["verdicts"])
    assert any(v["failed"] for x in lines for v in x["verdicts"])


def test_splits_are_written_as_such_and_ordered_by_target_time(db: Path, tmp_path: Path) -> None:
    export_run(read_run(db), tmp_path, formats=("jsonl",))
    dates = {}
    for s in SPLITS:
        lines = _lines(tmp_path / "jsonl" / f"{s}.jsonl")
        assert lines and all(x["split"] == s for x in lines)
        dates[s] = sorted(x["recommended_product"]["date"] for x in lines)
    assert dates["train"][-1] <= dates["validation"][0] <= dates["validation"][-1] <= dates["test"][0]


def test_only_accepted_dialogs_by_default_failed_ones_flagged_on_request(db: Path, tmp_path: Path) -> None:
    run = read_run(db)
    statuses = [d.status for d in run.dialogs]
    default = export_run(run, tmp_path / "a", formats=("jsonl",))
    assert sum(default.per_split.values()) == statuses.count("accepted")
    assert default.skipped == {s: statuses.count(s) for s in set(statuses) if s != "accepted"}
    lines = [x for s in SPLITS for x in _lines(tmp_path / "a" / "jsonl" / f"{s}.jsonl")]
    assert all(x["status"] == "accepted" for x in lines)
    everything = export_run(run, tmp_path / "b", formats=("jsonl",), include_failed=True)
    assert sum(everything.per_split.values()) == len(statuses)
    lines = [x for s in SPLITS for x in _lines(tmp_path / "b" / "jsonl" / f"{s}.jsonl")]
    assert all(x["fidelity_failed"] == (x["status"] != "accepted") for x in lines)


def test_parquet_round_trip_through_hugging_face_datasets(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets  # the dev extra: exports are checked with the library people load them with

    export_run(read_run(db), tmp_path / "ds", formats=("parquet",), include_failed=True)
    dialogs = datasets.load_dataset(str(tmp_path / "ds"), "dialogs", cache_dir=str(tmp_path / "cache"))
    turns = datasets.load_dataset(str(tmp_path / "ds"), "turns", cache_dir=str(tmp_path / "cache"))
    assert set(dialogs) == set(SPLITS) == set(turns)
    by_dialog: dict[str, list[dict[str, Any]]] = {}
    for s in SPLITS:
        for t in turns[s]:
            by_dialog.setdefault(t["dialog_id"], []).append(t)
    back = {
        row["dialog_id"]: record_from_parquet(row, by_dialog[row["dialog_id"]])
        for s in SPLITS
        for row in dialogs[s]
    }
    assert back == {r["dialog_id"]: r for r in _store_records(db)}
    # The same files read with pyarrow alone.
    table = pq.read_table(tmp_path / "ds" / "parquet" / "turns" / "train.parquet")
    assert set(table.column("role").to_pylist()) == {"user", "assistant"}


def test_chat_format_alternates_roles_with_the_system_side_as_assistant(db: Path, tmp_path: Path) -> None:
    export_run(read_run(db), tmp_path, formats=("chat",))
    store = {r["dialog_id"]: r for r in _store_records(db)}
    for s in SPLITS:
        for x in _lines(tmp_path / "chat" / f"{s}.jsonl"):
            roles = [m["role"] for m in x["messages"]]
            assert roles[0] == "system" and "earlier purchases" in x["messages"][0]["content"]
            assert all(a != b for a, b in itertools.pairwise(roles[1:]))
            said = "\n".join(m["content"] for m in x["messages"][1:] if m["role"] == "assistant")
            assert said == "\n".join(
                t["text"] for t in store[x["dialog_id"]]["turns"] if t["speaker"] == "system"
            )


def test_recbole_atomic_files_load_with_recboles_reader(db: Path, tmp_path: Path) -> None:
    from tests.support.recbole_reader import load_atomic

    export_run(read_run(db), tmp_path, formats=("recbole",))
    folder = tmp_path / "recbole"
    records = _store_records(db)
    accepted = [r for r in records if r["status"] == "accepted"]
    expected = {(r["user_id"], x["item"]) for r in accepted for x in [*r["history"], r["target"]]}
    inter, item, user = load_atomic(folder, "convrec")
    assert {(u, i) for u, i in zip(inter["user_id"], inter["item_id"], strict=True)} == expected
    assert set(item["item_id"]) >= {i for _, i in expected}
    assert set(user["user_id"]) == {u for u, _ in expected}
    parts = [load_atomic(folder, "convrec", suffix=s)[0] for s in ("train", "valid", "test")]
    assert sum(len(p["user_id"]) for p in parts) == len(inter["user_id"])
    assert max(parts[0]["timestamp"]) < min(parts[2]["timestamp"])


def test_cli_exports_and_bad_input_is_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(db), "--out", str(tmp_path / "x"), "--quiet"]) == 0
    manifest = orjson.loads((tmp_path / "x" / "manifest.json").read_bytes())
    assert manifest["run_id"] == "r1" and set(manifest["formats"]) == {"jsonl", "parquet", "recbole", "chat"}
    assert main([str(tmp_path / "missing.db"), "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "missing.db" in err and "Traceback" not in err
    assert main([str(db), "--run-id", "nope", "--out", str(tmp_path / "y")]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_help_explains_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "engine.export", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in (
        "RUN_DB",
        "--run-id",
        "--out",
        "--format",
        "--include-failed",
        "--domain",
        "--recbole-name",
        "--chat-no-history",
        "--quiet",
    ):
        assert option in out
    assert "default:" in out


def test_every_claim_and_preference_in_the_export_carries_its_provenance(db: Path, tmp_path: Path) -> None:
    from datetime import datetime

    from rich.console import Console

    from engine.config import RunSettings
    from engine.pipeline.base import load_run_corpus
    from profiling.corpus import to_millis
    from profiling.pipeline import load_or_run_profiling

    export_run(read_run(db), tmp_path)
    settings = RunSettings(world_seed=3, world_items=60, world_users=90, world_reviews=2200, world_aspects=14)
    corpus = load_run_corpus(settings, Console(quiet=True))
    res = load_or_run_profiling(corpus, settings.profiling_config())  # the run's own stage 1, from the cache
    assert res.mentions is not None
    mentioned = set(zip(res.mentions.sentence.tolist(), res.mentions.aspect.tolist(), strict=True))
    lines = [x for s in SPLITS for x in _lines(tmp_path / "jsonl" / f"{s}.jsonl")]
    parquet = {(t["dialog_id"], t["turn_index"]): t["grounding"] for s in SPLITS
               for t in pq.read_table(tmp_path / "parquet" / "turns" / f"{s}.parquet").to_pylist()}
    facts = 0
    for x in lines:
        seed_ms = to_millis(datetime.fromisoformat(x["recommended_product"]["date"]))
        user = corpus.user_index(x["user_id"])
        for k, t in enumerate(x["turns"]):
            assert parquet[(x["dialog_id"], k)] == t["grounding"]  # the same provenance in both formats
            for g in t["grounding"]:
                assert g["kind"] in ("preference", "community", "trend") and g["polarity"] in (-1, 0, 1)
                for sid in g["sentence_ids"]:
                    # The sentence exists, is older than the seed, mentions the claimed aspect, and is the
                    # user's own (a preference) or another buyer's about that item (a community claim).
                    assert 0 <= sid < len(res.table) and int(res.table.ts[sid]) < seed_ms
                    assert (sid, g["aspect"]) in mentioned
                    own = int(res.table.user[sid]) == user
                    assert own if g["kind"] == "preference" else (
                        not own and corpus.item_ids[int(res.table.item[sid])] == g["item"])
                facts += 1
        for d in x["declines"]:
            assert d["source"] in ("rated_low", "same_category", "catalog") and d["complaint_ids"]
    assert facts > 50
    assert any(x["declines"] for x in lines) and all(x["judge"] is None for x in lines)  # no judge ran
