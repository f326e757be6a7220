"""The recommender on a dataset the engine really wrote (scripted backend, small sample world)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from engine.run import main as engine_main
from recommender import run_experiment
from recommender.dataset import RECOMMEND_NODE, examples_from_records, load_records

# The world of tests/engine/test_engine_run.py: its stage-1 profiles are cached for the session.
WORLD = ["--world-seed", "3", "--world-items", "60", "--world-users", "90", "--world-reviews", "2200",
         "--world-aspects", "14"]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("engine_run")
    argv = [*WORLD, "--backend", "scripted", "--dialogs", "40", "--concurrency", "4", "--quiet",
            "--out", str(out), "--db", str(out / "trace.db")]  # fmt: skip
    assert engine_main(argv) == 0
    return out / "dialogs.jsonl"


def test_engine_dialogs_are_read_up_to_the_recommendation_and_never_name_the_target(dataset: Path) -> None:
    raw = [orjson.loads(line) for line in dataset.read_bytes().splitlines()]
    examples = examples_from_records(load_records(dataset))
    accepted = [r for r in raw if r["status"] == "accepted"]
    assert len(examples) == len(accepted) > 0
    for r, e in zip(accepted, examples, strict=True):
        words = r"\W+".join(map(re.escape, re.findall(r"\w+", r["target"]["title"].lower())))
        assert e.context and not any(re.search(words, text.lower()) for _, text in e.context)
        nodes = [t["node"] for t in r["turns"]]
        assert RECOMMEND_NODE in nodes
        # Nothing from the recommend node on is read.
        assert len(e.context) <= nodes.index(RECOMMEND_NODE)


def test_run_experiment_trains_on_engine_records(dataset: Path) -> None:
    raw = [orjson.loads(line) for line in dataset.read_bytes().splitlines()]
    # 40 dialogs hold too few validation and test dialogs of their own split: split by position.
    train, validation, test = raw[:28], raw[28:34], raw[34:]
    out = run_experiment(train, validation, test, model="cross", epochs=1)
    assert out["n_train"] > 0 and out["n_test"] > 0
    assert all(0.0 <= out[k] <= 1.0 for k in ("hit@1", "hit@10", "mrr", "sampled_hit@10"))
