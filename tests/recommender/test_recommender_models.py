"""The five models: shapes, what each one reads, causality, padding and the cross-attention wiring."""

from __future__ import annotations

import pytest
import torch

from recommender.config import ModelConfig
from recommender.features import FIRST_ITEM, HISTORY_START, Dialog
from recommender.models import PopularityModel, RecModel, build_model

N_ITEMS, N_WORDS = 12, 30


def _model(name: str, **kw: object) -> RecModel:
    torch.manual_seed(0)
    titles = torch.randint(0, N_WORDS, (FIRST_ITEM + N_ITEMS, 4))
    titles[:FIRST_ITEM] = 0
    cfg = ModelConfig(
        name=name,
        dim=16,
        heads=2,
        history_layers=2,
        dialog_layers=1,
        fusion_layers=2,
        max_history=8,
        max_turns=6,
        dropout=0.0,
        **kw,
    )  # type: ignore[arg-type]
    model = build_model(cfg, N_ITEMS, N_WORDS, titles)
    assert isinstance(model, RecModel)
    return model.eval()


def _inputs(b: int = 3) -> tuple[torch.Tensor, Dialog]:
    gen = torch.Generator().manual_seed(1)
    hist = torch.randint(FIRST_ITEM, FIRST_ITEM + N_ITEMS, (b, 6), generator=gen)
    hist[:, 0] = HISTORY_START
    speakers = torch.tensor([[1, 2, 3, 2, 3]] * b)
    words = torch.randint(2, N_WORDS, (b, 5, 7), generator=gen)
    words[:, 0] = 0  # the [CLS] slot has no words
    return hist, Dialog(speakers, words)


def _other_words(d: Dialog) -> Dialog:
    w = d.words.clone()
    w[:, 1:] = 2 + (w[:, 1:] - 2 + 7) % (N_WORDS - 2)
    return Dialog(d.speakers, w)


@pytest.mark.parametrize("name", ["history", "dialog", "fusion", "cross"])
def test_every_neural_model_scores_every_item(name: str) -> None:
    h, d = _inputs()
    out = _model(name)(h, d)
    assert out.shape == (3, N_ITEMS) and torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("name", "reads_history", "reads_dialog"),
    [("history", True, False), ("dialog", False, True), ("fusion", True, True), ("cross", True, True)],
)
def test_each_model_reads_what_its_name_says(name: str, reads_history: bool, reads_dialog: bool) -> None:
    model = _model(name)
    h, d = _inputs()
    base = model(h, d)
    h2 = h.clone()
    h2[:, 1:] = FIRST_ITEM + (h[:, 1:] - FIRST_ITEM + 5) % N_ITEMS
    d2 = _other_words(d)
    assert (not torch.allclose(base, model(h2, d))) == reads_history
    assert (not torch.allclose(base, model(h, d2))) == reads_dialog


def test_history_encoder_is_causal_and_left_padding_changes_nothing() -> None:
    model = _model("history")
    table = model.item_table()
    h, _ = _inputs()
    states, _ = model._history(h, table)
    changed = h.clone()
    changed[:, -1] = FIRST_ITEM + (h[:, -1] - FIRST_ITEM + 1) % N_ITEMS
    states2, _ = model._history(changed, table)
    assert torch.allclose(states[:, :-1], states2[:, :-1], atol=1e-6)  # earlier states never see later items
    assert not torch.allclose(states[:, -1], states2[:, -1])
    padded = torch.cat([torch.zeros(3, 2, dtype=torch.long), h], dim=1)
    _, d = _inputs()
    assert torch.allclose(model(h, d), model(padded, d), atol=1e-5)


def test_dialog_padding_changes_nothing_and_an_empty_history_is_finite() -> None:
    model = _model("cross")
    h, d = _inputs()
    more_turns = Dialog(
        torch.cat([d.speakers, torch.zeros(3, 2, dtype=torch.long)], dim=1),
        torch.cat([d.words, torch.zeros(3, 2, 7, dtype=torch.long)], dim=1),
    )
    more_words = Dialog(d.speakers, torch.cat([d.words, torch.zeros(3, 5, 4, dtype=torch.long)], dim=2))
    assert torch.allclose(model(h, d), model(h, more_turns), atol=1e-5)
    assert torch.allclose(model(h, d), model(h, more_words), atol=1e-5)
    only_marker = torch.full((3, 1), HISTORY_START)
    assert torch.isfinite(model(only_marker, d)).all()


def test_cross_attention_layers_attend_from_dialog_to_history() -> None:
    model = _model("cross")
    assert len(model.fusion_blocks) == 2 and all(b.cross_attn is not None for b in model.fusion_blocks)
    seen: list[tuple[int, int]] = []
    for blk in model.fusion_blocks:
        blk.cross_attn.register_forward_hook(
            lambda m, args, out: seen.append((args[0].shape[1], args[1].shape[1]))
        )
    h, d = _inputs()
    model(h, d)
    assert seen == [(d.speakers.shape[1], h.shape[1])] * 2  # queries: dialog turns; keys/values: history


def test_item_text_ties_titles_to_the_dialog_feature_table() -> None:
    with_text, without = _model("dialog"), _model("dialog", item_text=False)
    assert not torch.allclose(with_text.item_table(), with_text.item_emb.weight)
    assert torch.equal(without.item_table(), without.item_emb.weight)


def test_popularity_counts_training_targets() -> None:
    pop = build_model(ModelConfig(name="popularity"), 4, 1, torch.zeros(6, 1, dtype=torch.long))
    assert isinstance(pop, PopularityModel)
    pop.fit(torch.tensor([2, 2, 0, 2]))
    _, d = _inputs(2)
    assert pop(torch.zeros(2, 1, dtype=torch.long), d).tolist() == [[1, 0, 3, 0]] * 2
