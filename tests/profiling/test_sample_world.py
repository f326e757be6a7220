"""The sample world: determinism, Amazon 2023 schema, truth consistency, text difficulty, measurability."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from pydantic import ValidationError

import profiling.sample_world as sw
from profiling.errors import DataError
from profiling.sample_world import (
    TruthLookupError,
    WorldConfig,
    WorldPaths,
    WorldTruth,
    ensure_sample_world,
    generate_world,
    load_sample_world,
    load_truth,
)

SMALL = WorldConfig(seed=7, n_items=60, n_users=60, n_reviews=1200, n_aspects=14)

REVIEW_TYPES: dict[str, type | tuple[type, ...]] = {
    "rating": float, "title": str, "text": str, "images": list, "asin": str, "parent_asin": str,
    "user_id": str, "timestamp": int, "helpful_vote": int, "verified_purchase": bool,
}
META_TYPES: dict[str, type | tuple[type, ...]] = {
    "main_category": str, "title": str, "average_rating": (float, type(None)), "rating_number": int,
    "features": list, "description": list, "price": (float, type(None)), "images": list, "videos": list,
    "store": str, "categories": list, "details": dict, "parent_asin": str,
    "bought_together": (list, type(None)),
}
# The joining rule of the module docstring, as a regex: cut after a terminator run (with an emoji that
# follows it) or after an emoji, when a space and a capital letter come next.
_EMOJI = "\U0001F000-\U0001FAFF\u2600-\u27BF"
_SPLIT = re.compile(rf"(?<=[.!?{_EMOJI}]) (?=[A-Z])")


@pytest.fixture(scope="module")
def world(session_cache: None) -> WorldPaths:
    return ensure_sample_world()


@pytest.fixture(scope="module")
def truth(world: WorldPaths) -> WorldTruth:
    return load_truth(world.truth)


@pytest.fixture(scope="module")
def reviews(world: WorldPaths) -> list[dict[str, Any]]:
    with world.reviews.open("rb") as f:
        return [orjson.loads(line) for line in f]


@pytest.fixture(scope="module")
def by_review(truth: WorldTruth) -> dict[tuple[str, str, int], list[sw.TruthSentence]]:
    out: dict[tuple[str, str, int], list[sw.TruthSentence]] = defaultdict(list)
    for s in truth.sentences:
        out[(s.user_id, s.item, s.timestamp)].append(s)
    return out


def _hashes(paths: WorldPaths) -> dict[str, str]:
    files = (paths.reviews, paths.meta, paths.truth)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


# -- determinism ----------------------------------------------------------------------------------
def test_same_config_gives_byte_identical_files(tmp_path: Path) -> None:
    first = _hashes(generate_world(SMALL, tmp_path / "a"))
    second = _hashes(generate_world(SMALL.model_copy(), tmp_path / "b"))
    assert first == second


def test_different_seed_gives_a_different_world(tmp_path: Path) -> None:
    a = generate_world(SMALL, tmp_path / "a")
    b = generate_world(SMALL.model_copy(update={"seed": 8}), tmp_path / "b")
    assert all(x != y for x, y in zip(_hashes(a).values(), _hashes(b).values(), strict=True))


@pytest.mark.slow
def test_default_world_regenerates_identically(world: WorldPaths, tmp_path: Path) -> None:
    assert _hashes(generate_world(WorldConfig(), tmp_path)) == _hashes(world)


# -- cache ----------------------------------------------------------------------------------------
def test_cache_is_reused_and_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVREC_CACHE_DIR", str(tmp_path))
    paths = ensure_sample_world(SMALL)
    assert paths.root == tmp_path / "sample_world" / sw.world_key(SMALL)
    stamp = paths.reviews.stat().st_mtime_ns
    assert ensure_sample_world(SMALL) == paths
    assert paths.reviews.stat().st_mtime_ns == stamp  # reused, not rewritten
    good = _hashes(paths)
    with paths.reviews.open("r+b") as f:  # a half-written file: wrong size
        f.truncate(100)
    assert _hashes(ensure_sample_world(SMALL)) == good
    paths.truth.unlink()
    assert _hashes(ensure_sample_world(SMALL)) == good
    # No temporary folders or files are left behind.
    assert [p.name for p in (tmp_path / "sample_world").iterdir()] == [paths.root.name]
    assert sorted(p.name for p in paths.root.iterdir()) == ["complete.json", "meta.jsonl", "reviews.jsonl",
                                                              "truth.json"]


def test_cache_key_depends_on_config_and_version(monkeypatch: pytest.MonkeyPatch) -> None:
    key = sw.world_key(SMALL)
    assert sw.world_key(SMALL.model_copy(update={"seed": 8})) != key
    monkeypatch.setattr(sw, "GENERATOR_VERSION", sw.GENERATOR_VERSION + "-next")
    assert sw.world_key(SMALL) != key


# -- schema ---------------------------------------------------------------------------------------
def _check_types(record: dict[str, Any], types: dict[str, type | tuple[type, ...]], where: str) -> None:
    assert list(record) == list(types), where
    for key, kind in types.items():
        # bool is an int in Python: an int field must not hold a bool, and a float field holds a float.
        value = record[key]
        assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), (where, key)


def test_every_review_line_follows_the_amazon_2023_schema(world: WorldPaths, reviews: list[dict[str, Any]],
                                                          truth: WorldTruth) -> None:
    cfg = truth.config
    first = datetime(cfg.start.year, cfg.start.month, cfg.start.day, tzinfo=UTC)
    lo = int(first.timestamp() * 1000)
    hi = int(first.replace(year=first.year + cfg.years).timestamp() * 1000)
    for n, r in enumerate(reviews, 1):
        _check_types(r, REVIEW_TYPES, f"reviews line {n}")
        assert r["rating"] in (1.0, 2.0, 3.0, 4.0, 5.0)
        assert lo <= r["timestamp"] < hi
        assert re.fullmatch(r"A[A-Z0-9]{27}", r["user_id"]) and re.fullmatch(r"B0[A-Z0-9]{8}", r["asin"])
        assert r["text"] and r["title"] and r["images"] == [] and r["helpful_vote"] >= 0
    assert len(reviews) == cfg.n_reviews


def test_every_meta_line_follows_the_amazon_2023_schema(world: WorldPaths, reviews: list[dict[str, Any]],
                                                        truth: WorldTruth) -> None:
    with world.meta.open("rb") as f:
        meta = [orjson.loads(line) for line in f]
    counts = Counter(r["parent_asin"] for r in reviews)
    for n, m in enumerate(meta, 1):
        _check_types(m, META_TYPES, f"meta line {n}")
        assert m["rating_number"] == counts[m["parent_asin"]]
        assert len(m["categories"]) >= 3 and all(isinstance(c, str) for c in m["categories"])
    assert {m["parent_asin"] for m in meta} == set(truth.items) == set(counts)


# -- truth consistency ----------------------------------------------------------------------------
def test_every_review_is_its_truth_sentences_joined(reviews: list[dict[str, Any]], by_review: dict) -> None:
    assert len(by_review) == len(reviews)
    for r in reviews:
        sentences = by_review[(r["user_id"], r["parent_asin"], r["timestamp"])]
        assert [s.index for s in sentences] == list(range(len(sentences)))
        assert r["text"] == " ".join(s.text for s in sentences)
        # The documented rule recovers exactly the truth sentences.
        assert _SPLIT.split(r["text"]) == [s.text for s in sentences]


def test_project_splitter_returns_the_truth_sentences(reviews: list[dict[str, Any]], by_review: dict) -> None:
    from profiling.sentences import split_sentences

    for r in reviews:
        assert split_sentences(r["text"]) == [s.text for s in by_review[(r["user_id"], r["parent_asin"],
                                                                           r["timestamp"])]]


def test_labels_are_valid(truth: WorldTruth) -> None:
    assert 12 <= len(truth.aspects) <= 20
    assert [a.id for a in truth.aspects] == list(range(len(truth.aspects)))
    for s in truth.sentences:
        assert len(s.aspects) in (0, 1, 2) and len(s.polarity) == len(s.aspects)
        assert len(set(s.aspects)) == len(s.aspects) and set(s.polarity) <= {-1, 1}
        assert set(s.aspects) <= set(truth.aspects_of(truth.items[s.item].category))
        assert s.text[0].isupper() and not (s.hedged and s.negated)


def test_sentence_label_finds_every_sentence(truth: WorldTruth) -> None:
    for s in truth.sentences[::97]:
        assert truth.sentence_label(s.user_id, s.item, s.timestamp, s.text) == (s.aspects, s.polarity)
    s = truth.sentences[0]
    assert truth.sentence_label(s.user_id, s.item, s.timestamp + 1, s.text) is None


def test_users_review_each_item_once_inside_their_window(reviews: list[dict[str, Any]],
                                                          truth: WorldTruth) -> None:
    pairs = Counter((r["user_id"], r["parent_asin"]) for r in reviews)
    assert max(pairs.values()) == 1
    per_user = Counter(r["user_id"] for r in reviews)
    assert len(per_user) == truth.config.n_users
    assert min(per_user.values()) >= 5 and max(per_user.values()) > 3 * np.median(list(per_user.values()))
    for r in reviews:
        u = truth.users[r["user_id"]]
        assert u.window_start_ms <= r["timestamp"] <= u.window_end_ms
    # Popularity is skewed: the top tenth of the items hold a far larger share than a tenth.
    per_item = sorted(Counter(r["parent_asin"] for r in reviews).values(), reverse=True)
    assert sum(per_item[: len(per_item) // 10]) > 0.25 * len(reviews)


def test_importance_is_sparse_and_drifts(truth: WorldTruth) -> None:
    drifting = 0
    for u in truth.users.values():
        start, end = _at(u.window_start_ms), _at(u.window_end_ms)
        w = truth.user_importance(u.id, start)
        assert sum(w.values()) == pytest.approx(1.0, abs=1e-3)
        top = sorted(w.values(), reverse=True)
        assert sum(top[:4]) > 0.6 and top[2] > 1.5 * top[4]  # 3-4 dominant aspects
        if truth.user_top_aspects(u.id, start) != truth.user_top_aspects(u.id, end):
            drifting += 1
    assert 0.2 * len(truth.users) < drifting < 0.6 * len(truth.users)


def test_trajectories_improve_worsen_and_stay(truth: WorldTruth) -> None:
    seen: Counter[str] = Counter()
    cfg = truth.config
    first = datetime(cfg.start.year, cfg.start.month, cfg.start.day, tzinfo=UTC)
    last = first.replace(year=first.year + cfg.years) - timedelta(seconds=1)
    for item in truth.items.values():
        for a in item.quality:
            direction = truth.trajectory_direction(item.id, a)
            seen[direction] += 1
            change = truth.item_quality(item.id, a, last) - truth.item_quality(item.id, a, first)
            expected = {"improving": change > 0.5, "worsening": change < -0.5, "stable": change == 0.0}
            assert expected[direction], (item.id, a, direction, change)
    assert seen["improving"] > 0.15 * sum(seen.values()) and seen["worsening"] > 0.15 * sum(seen.values())


def test_bias_covers_every_aspect(truth: WorldTruth) -> None:
    bias = truth.user_bias(next(iter(truth.users)))
    assert sorted(bias) == list(range(len(truth.aspects)))
    assert any(v > 0 for v in bias.values()) and any(v < 0 for v in bias.values())


def test_lookups_fail_loudly(truth: WorldTruth) -> None:
    item = next(iter(truth.items.values()))
    foreign = next(a.id for a in truth.aspects if a.id not in item.quality)
    now = datetime(2022, 1, 1, tzinfo=UTC)
    with pytest.raises(TruthLookupError, match="not in the sample world"):
        truth.user_importance("nobody", now)
    with pytest.raises(TruthLookupError, match="does not apply"):
        truth.item_quality(item.id, foreign, now)
    with pytest.raises(TruthLookupError):
        truth.trajectory_direction("B0NOTANITEM", 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        truth.user_top_aspects(next(iter(truth.users)), datetime(2022, 1, 1))


# -- text difficulty ------------------------------------------------------------------------------
def test_text_mixes_off_topic_two_aspect_hedged_and_negated_sentences(truth: WorldTruth) -> None:
    n = len(truth.sentences)
    shares = Counter(len(s.aspects) for s in truth.sentences)
    assert 0.10 <= shares[0] / n <= 0.20
    assert 0.07 <= shares[2] / n <= 0.15
    assert 0.08 <= sum(s.hedged for s in truth.sentences) / n <= 0.25
    assert 0.10 <= sum(s.negated for s in truth.sentences) / n <= 0.30
    endings = Counter("emoji" if s.text[-1] not in ".!?" else s.text[-3:] if s.text.endswith("...")
                      else s.text[-1] for s in truth.sentences)
    assert {"emoji", "...", "!", "?", "."} <= set(endings)


def test_each_aspect_and_polarity_has_many_phrasings(truth: WorldTruth) -> None:
    texts: dict[tuple[int, int], set[str]] = defaultdict(set)
    for s in truth.sentences:
        if len(s.aspects) == 1:
            texts[(s.aspects[0], s.polarity[0])].add(s.text.rstrip(".!? ").lower())
    for key, phrasings in texts.items():
        assert len(phrasings) >= 20, key
    assert {a for a, _ in texts} == {a.id for a in truth.aspects}


# -- measurability: what a good profiler can reach --------------------------------------------------
def test_ratings_follow_sentence_polarity(reviews: list[dict[str, Any]], by_review: dict) -> None:
    ratings, balance = [], []
    for r in reviews:
        pol = [p for s in by_review[(r["user_id"], r["parent_asin"], r["timestamp"])] for p in s.polarity]
        ratings.append(r["rating"])
        balance.append(sum(pol) / len(pol))
    assert np.corrcoef(ratings, balance)[0, 1] > 0.6
    low = sum(1 for x in ratings if x <= 2) / len(ratings)
    assert 0.1 < low < 0.45


def test_mentions_reveal_each_users_top_aspects(truth: WorldTruth) -> None:
    mentions: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s in truth.sentences:
        mentions[s.user_id].extend((s.timestamp, a) for a in s.aspects)
    recall = []
    for user, pairs in mentions.items():
        last = max(t for t, _ in pairs)
        counts = Counter(a for _, a in pairs)
        top = {a for a, _ in counts.most_common(3)}
        recall.append(len(top & set(truth.user_top_aspects(user, _at(last)))) / 3)
    # Counting labels is the ceiling a profiler works under; it must sit well above the 0.7 target.
    assert np.mean(recall) >= 0.85


def test_polarity_over_time_reveals_trajectories(truth: WorldTruth) -> None:
    series: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for s in truth.sentences:
        for a, p in zip(s.aspects, s.polarity, strict=True):
            series[(s.item, a)].append((s.timestamp, p))
    hits = total = 0
    for (item, a), pts in series.items():
        direction = truth.trajectory_direction(item, a)
        if direction == "stable" or len(pts) < 20:
            continue
        t = np.array([x for x, _ in pts], dtype=float)
        p = np.array([y for _, y in pts], dtype=float)
        slope = np.polyfit((t - t.mean()) / t.std(), p, 1)[0]
        hits += (slope > 0) == (direction == "improving")
        total += 1
    assert total >= 100 and hits / total >= 0.9


# -- config, truth file and loader ------------------------------------------------------------------
@pytest.mark.parametrize("bad", [{"categories": ("headphones", "yachts")}, {"categories": ("laptops",)},
                                 {"n_aspects": 11}, {"n_reviews": 10**7}, {"seed": -1}, {"colour": "red"},
                                 {"start": "2024-02-29"}])
def test_bad_config_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WorldConfig(**bad)


def test_bad_truth_file_raises_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "truth.json"
    bad.write_text('{"generator_version": "1"}')
    with pytest.raises(DataError, match="not a sample-world truth file") as err:
        load_truth(bad)
    assert err.value.file == str(bad)
    with pytest.raises(DataError, match="cannot read"):
        load_truth(tmp_path / "missing.json")


def test_truth_round_trips_config(truth: WorldTruth) -> None:
    assert truth.config == WorldConfig() and truth.generator_version == sw.GENERATOR_VERSION


def test_load_sample_world_goes_through_the_amazon_loader(reviews: list[dict[str, Any]],
                                                          world: WorldPaths) -> None:
    corpus = load_sample_world()  # the autouse fixture points the cache where ``world`` already lies
    assert corpus.source == "amazon2023"
    assert (len(corpus), corpus.n_users, corpus.n_items) == (len(reviews), 500, 300)
    assert sorted(corpus.texts) == sorted(r["text"] for r in reviews)
    assert all(item.title and item.categories for item in corpus.items.values())


def test_cli_writes_a_world_and_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w"
    assert sw.main(["--seed", "3", "--n-items", "60", "--n-users", "40", "--n-reviews", "400",
                    "--out", str(out)]) == 0
    assert str(out / "reviews.jsonl") in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["meta.jsonl", "reviews.jsonl", "truth.json"]
    assert sw.main(["--categories", "headphones,yachts", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "yachts" in err and err.count("\n") == 1


def test_public_names() -> None:
    assert set(sw.__all__) == {
        "GENERATOR_VERSION", "TruthAspect", "TruthItem", "TruthLookupError", "TruthSentence",
        "TruthTrajectory", "TruthUser", "WorldConfig", "WorldPaths", "WorldTruth", "ensure_sample_world",
        "generate_world",
        "load_sample_world", "load_truth", "main", "world_key"}


def test_phrase_banks_never_hold_a_sentence_boundary() -> None:
    from profiling import world_text as wt

    inner = re.compile(r"[.!?] |\b(?:e\.g|i\.e|etc|mr|dr|vs)\.", re.IGNORECASE)
    pieces = [*wt.PLAIN_POS, *wt.HEDGED_POS, *wt.NEGATED_POS, *wt.PLAIN_NEG, *wt.HEDGED_NEG, *wt.NEGATED_NEG,
              *(t for t, _ in (*wt.PAIR_POS, *wt.PAIR_NEG, *wt.PAIR_MIXED)), *wt.OFF_TOPIC]
    for lx in wt.ASPECT_BANK:
        assert len(lx.nouns) >= 4 and len(lx.pos_adj) >= 4 and len(lx.neg_adj) >= 4, lx.key
        assert len(lx.pos_clauses) >= 5 and len(lx.neg_clauses) >= 5, lx.key
        pieces += [*lx.nouns, *lx.pos_adj, *lx.neg_adj, *lx.pos_clauses, *lx.neg_clauses]
    assert [p for p in pieces if inner.search(p)] == []
    assert len({lx.key for lx in wt.ASPECT_BANK}) == len(wt.ASPECT_BANK) >= 20


@pytest.mark.parametrize("config", [
    WorldConfig(seed=1, n_items=40, n_users=30, n_reviews=300, n_aspects=12,
                categories=("laptops", "skincare")),
    WorldConfig(seed=2, n_items=120, n_users=40, n_reviews=800, n_aspects=20, years=1, start="2019-06-15"),
])
def test_other_configs_generate_consistent_worlds(config: WorldConfig, tmp_path: Path) -> None:
    truth = load_truth(generate_world(config, tmp_path).truth)
    assert len(truth.aspects) == config.n_aspects and len({s.timestamp for s in truth.sentences}) > 0
    assert {it.category for it in truth.items.values()} == set(config.categories)
    first = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    end = first.replace(year=first.year + config.years)
    assert all(first <= _at(s.timestamp) < end for s in truth.sentences)
    assert len({(s.user_id, s.item, s.timestamp) for s in truth.sentences}) == config.n_reviews
