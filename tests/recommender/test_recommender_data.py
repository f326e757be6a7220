"""Reading dataset lines: the dialog context cut, bad input, the item catalog."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import pytest

from profiling.errors import DataError
from recommender.dataset import (
    ItemCatalog,
    Turn,
    dialog_context,
    examples_from_records,
    load_records,
    parse_record,
    split_examples,
)
from recommender.synthetic import make_records
from recommender.text import SPEAKER_CLS, SPEAKER_SYSTEM, SPEAKER_USER, Vocabulary, features, tokenize


def _turns(*rows: tuple[str, str, str]) -> list[Turn]:
    return [Turn(speaker=s, text=t, node=n) for s, t, n in rows]


def test_context_stops_before_the_recommend_node_and_never_names_the_target() -> None:
    records = make_records(60)
    for raw, ex in zip(
        (r for r in records if r["status"] == "accepted"), examples_from_records(records), strict=True
    ):
        title = raw["target"]["title"].lower()
        assert ex.context, "the turns before the recommendation are kept"
        assert all(title not in text.lower() for _, text in ex.context)
        first_rec = next(k for k, t in enumerate(raw["turns"]) if t["node"] == "recommend_target")
        assert len(ex.context) == first_rec
        assert ex.history == tuple(h["item"] for h in raw["history"])


def test_an_early_mention_of_the_target_title_cuts_there_case_and_punctuation_aside() -> None:
    turns = _turns(
        ("user", "Hi, I need a kettle.", "greet"),
        ("system", "Hello! What matters to you?", "greet"),
        ("user", "I heard the ACME kettle-pro is nice.", "elicit"),
        ("system", "I would recommend the Acme Kettle Pro.", "recommend_target"),
    )
    assert [t.text for t in dialog_context(turns, "Acme Kettle Pro")] == turns_text(turns[:2])


def test_a_title_inside_another_word_is_not_a_mention() -> None:
    turns = _turns(
        ("user", "I want an Acme Kettles Pro set or similar.", "elicit"), ("system", "Noted.", "elicit")
    )
    assert len(dialog_context(turns, "Acme Kettle")) == 2
    assert dialog_context(turns, None) == turns


def turns_text(turns: list[Turn]) -> list[str]:
    return [t.text for t in turns]


def test_only_accepted_dialogs_are_examples_and_splits_follow_the_record() -> None:
    records = make_records(200, failed_rate=0.3, seed=4)
    examples = examples_from_records(records)
    assert len(examples) == sum(r["status"] == "accepted" for r in records) < len(records)
    by = split_examples(examples)
    assert sum(map(len, by.values())) == len(examples)
    assert all(e.split == name for name, exs in by.items() for e in exs)


def test_the_catalog_is_every_item_named_anywhere_including_negatives(tmp_path: Path) -> None:
    records = make_records(30)
    extra = copy.deepcopy(records[0])
    extra["status"] = "failed_fidelity"
    extra["negatives"] = [{"item": "ONLY_NEG", "title": "Lonely Lamp", "source": "catalog"}]
    records.append(extra)
    catalog = ItemCatalog.from_records(parse_record(r) for r in records)
    named = {h["item"] for r in records for h in r["history"]} | {r["target"]["item"] for r in records}
    assert "ONLY_NEG" in catalog.titles and named <= set(catalog.titles)
    assert list(catalog.titles) == sorted(catalog.titles)


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    raw = make_records(1)[0] | {"a_future_field": [1, 2, 3]}
    raw["turns"][0]["emotion"] = "happy"
    assert parse_record(raw).dialog_id == raw["dialog_id"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r["target"].pop("item"), "target.item"),
        (lambda r: r["history"][1].update(item=7), "history.1.item"),
        (lambda r: r.update(split="later"), "split"),
        (lambda r: r["turns"][2].pop("text"), "turns.2.text"),
    ],
)
def test_a_bad_line_names_file_line_and_field(tmp_path: Path, mutate, field: str) -> None:
    records = make_records(3)
    mutate(records[1])
    path = tmp_path / "dialogs.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    with pytest.raises(DataError) as err:
        load_records(path)
    assert err.value.file == str(path) and err.value.line == 2 and err.value.field == field
    assert f"{path}:2" in str(err.value) and field in str(err.value)


def test_a_line_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dialogs.jsonl"
    path.write_bytes(orjson.dumps(make_records(1)[0]) + b"\n{oops\n")
    with pytest.raises(DataError, match=r"dialogs.jsonl:2"):
        load_records(path)
    with pytest.raises(DataError, match="no such dataset file"):
        load_records(tmp_path / "missing.jsonl")


def test_vocabulary_keeps_frequent_words_and_pairs_and_encodes_the_latest_turns() -> None:
    assert tokenize("Great SOUND, isn't it?") == ["great", "sound", "isn't", "it", "?"]
    assert features("poor battery life") == ["poor", "battery", "life", "poor_battery", "battery_life"]
    vocab = Vocabulary.build(["a b c c", "b c c"], min_count=2)
    assert vocab.words[2:] == ["c", "b", "b_c", "c_c"]
    ix = vocab.index
    enc = vocab.encode_dialog(
        [("user", "a"), ("user", "c b a"), ("system", "b c")], max_turns=2, max_features=2
    )
    assert enc == [
        (SPEAKER_CLS, []),
        (SPEAKER_USER, [ix["c"], ix["b"]]),
        (SPEAKER_SYSTEM, [ix["b"], ix["c"]]),
    ]
    assert vocab.ids("a b") == [ix["[UNK]"], ix["b"], ix["[UNK]"]]
