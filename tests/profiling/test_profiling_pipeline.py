"""Stage 1 end to end: no leakage from the future, the store round trip, the cache, the CLI."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from profiling.aspects import AspectConfig
from profiling.corpus import Corpus, Interaction, Item
from profiling.pipeline import STEPS, ProfilingConfig, load_result, run_profiling, save_result
from profiling.profile_store import ProfileStoreError, StaleStoreError, read_store
from profiling.run import main

T0 = datetime(2021, 1, 1, tzinfo=UTC)
TOPICS = {
    "battery": [
        "The battery lasts all day",
        "Battery life is {} and charging is quick",
        "The battery drains {} fast",
    ],
    "sound": [
        "The sound is {} and the bass is deep",
        "Sound quality is {}",
        "The audio sounds {} at high volume",
    ],
    "comfort": [
        "They are {} to wear for hours",
        "The ear cushions feel {}",
        "Comfort is {} even on long flights",
    ],
    "price": ["The price is {} for what you get", "Worth the money, the price was {}", "The cost felt {}"],
}
GOOD = ["great", "excellent", "wonderful", "fantastic"]
BAD = ["terrible", "awful", "poor", "horrible"]


class HashingEncoder:
    """A bag-of-words hashing encoder: the test's stand-in at the encoder seam (no model files)."""

    name = "test-hashing-64"
    dim = 64

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[k, h % self.dim] += 1.0 if h & 1 << 31 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def corpus_of(
    n_users: int = 12, reviews_each: int = 10, seed: int = 0, edit: dict[int, tuple[str, float]] | None = None
) -> Corpus:
    """A small review corpus over four topics; ``edit`` replaces (text, rating) of reviews by number."""
    rng = np.random.default_rng(seed)
    items = [Item(id=f"i{k}", title=f"Headphones {k}", categories=("audio", "headphones")) for k in range(6)]
    interactions = []
    n = 0
    for u in range(n_users):
        for r in range(reviews_each):
            parts = []
            rating = float(rng.integers(1, 6))
            for topic in rng.choice(list(TOPICS), size=2, replace=False):
                template = TOPICS[str(topic)][int(rng.integers(3))]
                word = (GOOD if rating >= 3 else BAD)[int(rng.integers(4))]
                parts.append(template.format(word) + ".")
            text = " ".join(parts)
            if edit and n in edit:
                text, rating = edit[n]
            interactions.append(
                Interaction(
                    user=f"u{u}",
                    item=f"i{int(rng.integers(6))}",
                    rating=rating,
                    timestamp=T0 + timedelta(days=30 * r + u),
                    text=text,
                )
            )
            n += 1
    return Corpus.from_interactions(items, interactions, source="test")


CONFIG = ProfilingConfig(
    aspects=AspectConfig(k=4, rounds=1, n_init=1), sentiment="vader", fit_until=T0 + timedelta(days=200)
)


def test_config_has_one_seed_and_yields_profile_settings() -> None:
    cfg = ProfilingConfig(seed=7, half_life_days=30, aspects=AspectConfig(k=5, seed=1))
    assert cfg.aspects.seed == 7 and cfg.aspects.k == 5
    assert cfg.settings().half_life_days == 30
    assert ProfilingConfig.model_validate_json(cfg.model_dump_json()) == cfg
    with pytest.raises(ValueError, match="timezone-aware"):
        ProfilingConfig(fit_until=datetime(2022, 1, 1))


def test_a_changed_future_review_does_not_move_a_profile() -> None:
    enc = HashingEncoder()
    base = corpus_of()
    # Review 7 of user u0 is at day 210; profiles at day 205 must not see its change.
    changed = corpus_of(
        edit={7: ("The battery exploded and the sound is horrible. Awful, awful price.", 1.0)}
    )
    at, later = T0 + timedelta(days=205), T0 + timedelta(days=400)
    a = run_profiling(base, CONFIG, encoder=enc)
    b = run_profiling(changed, CONFIG, encoder=enc)
    item = base.interaction(base.rows("u0")[7]).item
    assert a.profiles.user_profile("u0", at) == b.profiles.user_profile("u0", at)
    assert a.profiles.item_profile(item, at) == b.profiles.item_profile(item, at)
    # The aspect model was fitted before the change, so even its table is the same.
    assert a.aspects == b.aspects
    # Not vacuous: after the changed review, the same profiles move.
    assert a.profiles.user_profile("u0", later) != b.profiles.user_profile("u0", later)
    assert a.profiles.item_profile(item, later) != b.profiles.item_profile(item, later)


def test_store_round_trip_and_guards(tmp_path: Path) -> None:
    corpus = corpus_of()
    result = run_profiling(corpus, CONFIG, encoder=HashingEncoder())
    # The terms method tags instead of embedding sentences; the steps come in STEPS order.
    assert list(result.timings) == [s for s in STEPS if s != "embed"]
    folder = save_result(result, tmp_path / "store", corpus)
    back = load_result(folder, corpus)
    assert back.from_cache and back.encoder == "test-hashing-64" and back.config == result.config
    assert back.aspects == result.aspects and back.aspect_model == result.aspect_model
    assert result.mentions is not None and back.mentions is not None
    for name in ("sentence", "aspect", "polarity", "source"):
        assert np.array_equal(getattr(back.mentions, name), getattr(result.mentions, name))
    assert back.mentions.word == result.mentions.word
    for name in ("labels", "similarity", "sentiments"):
        assert np.array_equal(getattr(back, name), getattr(result, name))
    assert back.table.texts == result.table.texts and np.array_equal(back.table.ts, result.table.ts)
    at = T0 + timedelta(days=250)
    for user in corpus.users[:4]:
        assert back.profiles.user_profile(user, at) == result.profiles.user_profile(user, at)
    for item in corpus.item_ids:
        assert back.profiles.item_profile(item, at) == result.profiles.item_profile(item, at)
    with pytest.raises(StaleStoreError, match="another corpus"):
        load_result(folder, corpus_of(seed=1))
    with pytest.raises(ProfileStoreError, match="missing"):
        read_store(tmp_path / "nowhere")
    # Writing again replaces the store atomically; no temporary folder is left behind.
    save_result(result, folder, corpus)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_cli_rejects_bad_input_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", "yelp", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "needs --reviews" in err and "Traceback" not in err
    assert main(["--smoothing", "1.5", "--quiet"]) == 2
    assert "smoothing" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--half-life-days" in capsys.readouterr().out


def test_cli_runs_the_stage_on_a_small_sample_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import profiling.encoders

    # The encoder seam: the real encoders are measured in bench/bench_profiling.py.
    monkeypatch.setattr(profiling.encoders, "get_encoder", lambda name="fast", cache=True: HashingEncoder())
    args = [
        "--world-reviews",
        "400",
        "--world-users",
        "40",
        "--world-items",
        "24",
        "--k",
        "6",
        "--sentiment",
        "vader",
        "--out",
        str(tmp_path / "out"),
        "--quiet",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Aspects (test-hashing-64)" in out and "mean sentiment" in out and "wrote:" in out
    store = read_store(tmp_path / "out")
    # k is an upper bound: a world of 400 reviews may hold fewer aspects.
    assert 1 <= len(store.aspects) <= 6 and len(store.texts) > 400
    assert store.manifest["config"]["aspects"]["k"] == 6
    # The second run of the same corpus and config is read from the cache.
    assert main(args) == 0
    assert "read from the cache" in capsys.readouterr().out
