"""Stage 1 by aspect terms on whole corpora: the sample world, the real clothing reviews, the tag command."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from profiling.corpus import to_millis
from profiling.pipeline import ProfilingConfig, ProfilingResult, load_or_run_profiling, save_result
from profiling.sample_world import WorldConfig, ensure_sample_world, load_sample_world, load_truth
from profiling.tag import main as tag_main
from profiling.term_aspects import ATTRIBUTES
from profiling.term_stats import product_type_words, valence

pytestmark = pytest.mark.timeout(900)

WORLD = WorldConfig(seed=3, n_items=60, n_users=90, n_reviews=2200, n_aspects=14)


@pytest.fixture(scope="module")
def world(session_cache: None) -> ProfilingResult:
    return load_or_run_profiling(load_sample_world(WORLD), ProfilingConfig(seed=0))


def test_world_aspects_are_named_by_terms_never_by_types_or_verdicts(world: ProfilingResult) -> None:
    model = world.aspect_model
    assert model is not None and 3 <= len(model.aspects) <= world.config.aspects.k
    corpus = load_sample_world(WORLD)
    types = product_type_words([" ".join(i.categories) for i in corpus.items.values()],
                               [i.title for i in corpus.items.values()], {})
    names = [a.name for a in model.aspects]
    assert len(set(names)) == len(names)
    for entry in model.aspects:
        words = entry.name.split()
        assert not set(words) & types, entry.name
        # VADER's lexicon holds a few attributes ("comfort", "fit"); any other opinion word is a verdict.
        assert all(abs(valence().get(w, 0.0)) < 1.0 or w in ATTRIBUTES for w in words), entry.name
        # A name is one of its terms (as written), or the noun compound one of them lives in.
        assert any(w.rstrip("s") in t or t in w for w in words for t in entry.terms), entry
    assert all(e.reason and e.status in ("merged", "dropped") for e in model.rejected)
    assert [a.name for a in world.aspects] == names


def test_world_filler_sentences_ground_nothing(world: ProfilingResult, session_cache: None) -> None:
    truth = load_truth(ensure_sample_world(WORLD).truth)
    table = world.table
    mentioned = np.zeros(len(table), dtype=bool)
    assert world.mentions is not None
    mentioned[world.mentions.sentence] = True
    # Truth sentences are keyed by review and text; a review's sentences are split the same way.
    index = {(int(t), s): k for k, (t, s) in enumerate(zip(table.ts.tolist(), table.texts, strict=True))}
    keyed = [(index[(s.timestamp, s.text)], bool(s.aspects)) for s in truth.sentences
             if (s.timestamp, s.text) in index]
    off = [k for k, planted in keyed if not planted]
    assert len(off) > 200
    assert mentioned[off].mean() <= 0.10
    # No aspect is made of filler: most of every aspect's mentions are in sentences about a planted aspect.
    planted = {k for k, about in keyed if about}
    for a in range(len(world.aspects)):
        rows = world.mentions.sentence[world.mentions.aspect == a].tolist()
        assert sum(r in planted for r in rows) / len(rows) > 0.8, world.aspects[a].name


def test_every_evidence_sentence_is_older_has_the_aspect_and_the_right_owner(world: ProfilingResult) -> None:
    corpus = load_sample_world(WORLD)
    m = world.mentions
    assert m is not None
    aspects_of: dict[int, set[int]] = {}
    for s, a in zip(m.sentence.tolist(), m.aspect.tolist(), strict=True):
        aspects_of.setdefault(s, set()).add(a)
    at = datetime(2023, 3, 1, tzinfo=UTC)
    checked = 0
    for user in corpus.users[:40]:
        u = corpus.user_index(user)
        for pref in world.profiles.user_profile(user, at).preferences:
            assert len(pref.evidence_ids) == len(pref.evidence)
            for sid, text in zip(pref.evidence_ids, pref.evidence, strict=True):
                assert world.table.texts[sid] == text and world.table.user[sid] == u
                assert world.table.ts[sid] < to_millis(at) and pref.aspect in aspects_of[sid]
                checked += 1
    for item in corpus.item_ids[:20]:
        i = corpus.item_index(item)
        for view in world.profiles.item_profile(item, at).aspects:
            for sid in view.evidence_ids:
                assert world.table.item[sid] == i and world.table.ts[sid] < to_millis(at)
                assert view.aspect in aspects_of[sid]
                checked += 1
    assert checked > 100


def _tag(store: Path, lines: str, *args: str, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict], str]:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code = tag_main(["--store", str(store), *args])
    captured = capsys.readouterr()
    return code, [json.loads(x) for x in captured.out.splitlines()], captured.err


def test_the_tag_command_keeps_order_and_names_bad_lines(
    world: ProfilingResult, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = save_result(world, tmp_path / "store", load_sample_world(WORLD))
    term = world.aspects[0].phrases[0]
    code, rows, _ = _tag(store, f"The {term} is great.\nLove it!\n\n", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and [r["text"] for r in rows] == [f"The {term} is great.", "Love it!", ""]
    assert rows[0]["aspects"][0]["id"] == 0 and rows[0]["aspects"][0]["polarity"] > 0
    assert rows[1]["aspects"] == [] and rows[2]["aspects"] == []
    lines = '{"text": "Love it!"}\n{"txt": "no"}\n{"text": "Hate it."}\n'
    code, rows, err = _tag(store, lines, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2 and len(rows) == 1 and "<stdin>:2, field 'text': is missing" in err
    code, rows, err = _tag(store, lines, "--on-error", "skip", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and len(rows) == 3 and rows[1]["line"] == 2 and "field 'text'" in rows[1]["error"]
    assert "skipped 1 bad line" in err


def test_the_tag_command_refuses_a_store_without_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "manifest.json").write_text(json.dumps({"method": "contrastive"}))
    code, _rows, err = _tag(tmp_path / "s", "x\n", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2 and "--method contrastive" in err and "--method terms" in err
    code, _rows, err = _tag(tmp_path / "nowhere", "x\n", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2 and "not a stage-1 store" in err


@pytest.mark.slow
def test_real_clothing_reviews_end_to_end_through_both_commands(tmp_path: Path) -> None:
    env = {"CONVREC_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "store"
    run = subprocess.run([sys.executable, "-m", "profiling.run", "--data", "clothing", "--limit", "4000",
                          "--out", str(out), "--quiet"], capture_output=True, text=True, env=env, timeout=800)
    assert run.returncode == 0, run.stderr
    assert "stage 1 only" in run.stdout and "Not aspects" in run.stdout
    table = json.loads((out / "aspects.json").read_text())
    names = {a["name"] for a in table}
    assert {"color", "fabric"} <= names and not names & {"dress", "top", "love", "recommend"}
    sentences = "The color is gorgeous but it runs small.\nLove this dress!\nHighly recommend.\n" \
                "I bought this for my sister's wedding.\n"
    tag = subprocess.run([sys.executable, "-m", "profiling.tag", "--store", str(out)], input=sentences,
                         capture_output=True, text=True, env=env, timeout=300)
    assert tag.returncode == 0, tag.stderr
    rows = [json.loads(x) for x in tag.stdout.splitlines()]
    first = rows[0]["aspects"]
    assert first[0]["name"] == "color" and first[0]["polarity"] > 0
    assert len(first) == 2 and first[1]["polarity"] < 0  # "it runs small": a complaint about the size
    assert [r["aspects"] for r in rows[1:]] == [[], [], []]
