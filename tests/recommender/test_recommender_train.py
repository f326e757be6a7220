"""Training, the experiment function, checkpoints, the recommend API and both CLIs on synthetic data.

In the synthetic data the target needs the history (favourite category) and the dialog (stated
aspect): the models must learn that, and the two that read both must beat the ones that read one.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from recommender import load_recommender, run_experiment
from recommender.config import ModelConfig, TrainConfig
from recommender.dataset import ItemCatalog, examples_from_records, parse_record
from recommender.errors import CheckpointError, EmptySplitError, UnknownModelError
from recommender.evaluate import main as evaluate_main
from recommender.synthetic import make_records
from recommender.train import main as train_main
from recommender.training import evaluate, prepare, train

KEYS = {"hit@1", "hit@5", "hit@10", "ndcg@5", "ndcg@10", "mrr"}
TINY = [
    "--dim",
    "16",
    "--heads",
    "2",
    "--history-layers",
    "1",
    "--dialog-layers",
    "1",
    "--fusion-layers",
    "1",
    "--max-turns",
    "8",
]


def _splits(n: int = 800, seed: int = 0) -> tuple[list[dict], list[dict], list[dict]]:
    recs = make_records(n, seed=seed)
    return tuple([r for r in recs if r["split"] == s] for s in ("train", "validation", "test"))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def splits() -> tuple[list[dict], list[dict], list[dict]]:
    return _splits()


def test_run_experiment_returns_both_protocols_and_is_deterministic(splits) -> None:
    a = run_experiment(*splits, model="history", seed=1, epochs=1)
    assert KEYS | {f"sampled_{k}" for k in KEYS} <= set(a)
    assert all(0.0 <= a[k] <= 1.0 for k in KEYS)
    assert a["n_test"] == sum(r["status"] == "accepted" for r in splits[2])
    assert run_experiment(*splits, model="history", seed=1, epochs=1) == a


@pytest.mark.slow
def test_models_that_read_history_and_dialog_beat_those_that_read_one(splits) -> None:
    examples = [
        dataclasses.replace(e, split=name)
        for name, recs in zip(("train", "validation", "test"), splits, strict=True)
        for e in examples_from_records(recs)
    ]
    catalog = ItemCatalog.from_records(parse_record(r) for recs in splits for r in recs)
    hit = {}
    for name in ("popularity", "history", "dialog", "cross"):
        cfg = ModelConfig(name=name, dim=32, history_layers=1, dialog_layers=1, fusion_layers=1, dropout=0.0)
        prepared = prepare(examples, cfg, catalog=catalog)
        result = train(prepared, cfg, TrainConfig(epochs=15, patience=15, lr=5e-3, batch_size=64))
        hit[name] = evaluate(result.model, prepared.splits["test"], seed=0)["full"]["hit@1"]
    # History finds the category (1 item in 5 of it), dialog the aspect (1 category in 4); only both
    # together find the item.
    assert hit["cross"] > 0.6 > max(hit["history"], hit["dialog"], hit["popularity"]), hit


def test_items_named_only_in_test_records_are_ranked(splits) -> None:
    train, val, test = (list(x) for x in splits)
    test = [dict(r) for r in test]
    test[0] = dict(
        test[0], status="accepted", target={**test[0]["target"], "item": "NEW", "title": "Novel Lamp"}
    )
    out = run_experiment(train, val, test, model="popularity")
    assert out["n_test"] == sum(r["status"] == "accepted" for r in test)


def test_bad_calls_fail_loudly(splits) -> None:
    with pytest.raises(UnknownModelError, match="cross, fusion"):
        run_experiment(*splits, model="sasrec")
    with pytest.raises(EmptySplitError, match="validation"):
        run_experiment(splits[0], [], splits[2], model="popularity")


def test_train_cli_writes_checkpoints_and_evaluate_reproduces_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "dialogs.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in make_records(500, seed=2)))
    out = tmp_path / "run"
    assert (
        train_main(
            [
                "--data",
                str(data),
                "--model",
                "cross",
                "--out",
                str(out),
                "--seeds",
                "0",
                "1",
                "--epochs",
                "2",
                "--quiet",
                *TINY,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "full ranking over all" in printed and "random (chance)" in printed and "0.4000" in printed
    results = orjson.loads((out / "results.json").read_bytes())
    assert [r["seed"] for r in results["runs"]] == [0, 1]
    assert {"config.json", "featurizer.json", "model.pt"} <= {p.name for p in (out / "seed0").iterdir()}
    assert evaluate_main(["--checkpoint", str(out), "--data", str(data)]) == 0
    table = capsys.readouterr().out
    hit1 = [r["test"]["full"]["hit@1"] for r in results["runs"]]
    mean = sum(hit1) / 2
    assert f"{mean:.4f} ±" in table and "2 seed(s) [0, 1]" in table

    rec = load_recommender(out / "seed0")
    raw = next(r for r in make_records(500, seed=2) if r["status"] == "accepted")
    top = rec.recommend(raw["history"], raw["turns"], k=5)
    assert len(top) == 5 and [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    assert all(item in rec.featurizer.item_index for item, _ in top)
    # The turns from the recommend node on are not read: the answer cannot come from them.
    before = [t for t in raw["turns"] if t["node"] in ("greet", "elicit", "recommend_alternative")]
    assert rec.recommend(raw["history"], before, k=5) == top
    assert rec.recommend([], "I care a lot about comfort.", k=3)


def test_clis_report_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "dialogs.jsonl"
    lines = [orjson.dumps(r) for r in make_records(5)]
    lines[3] = lines[3].replace(b'"turns"', b'"turnz"')
    data.write_bytes(b"\n".join(lines) + b"\n")
    assert train_main(["--data", str(data), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{data}:4" in err and "turns" in err and "Traceback" not in err
    assert evaluate_main(["--checkpoint", str(tmp_path), "--data", str(data)]) == 2
    assert "neither a checkpoint" in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="missing"):
        load_recommender(tmp_path)


def test_help_explains_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "recommender.train", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in (
        "--data",
        "--model",
        "--out",
        "--seeds",
        "--epochs",
        "--patience",
        "--dim",
        "--heads",
        "--fusion-layers",
        "--batch-size",
        "--lr",
        "--candidates",
        "--quiet",
    ):
        assert option in out
    assert "default:" in out
    out = subprocess.run(
        [sys.executable, "-m", "recommender.evaluate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--checkpoint" in out and "--split" in out and "default:" in out
