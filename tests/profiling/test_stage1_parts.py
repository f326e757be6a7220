"""Stage 1 by aspect terms, part by part: tagger, clauses, polarity model, mentions, labelled scoring."""

from __future__ import annotations

import json

import numpy as np
import pytest

from profiling.clause_polarity import PolarityError, PolarityModel, fit_polarity, sentence_words
from profiling.clauses import OFF_THE_MARK, clause_spans, marked_words
from profiling.labelled_eval import LabelledSentence, load_labelled, score_labelled
from profiling.mentions import CUE, DERIVED, TERM, AspectLexicon, find_mentions
from profiling.tagging import TAGGER_NAME, tag_texts
from tests.support.paths import REPO

DATA = REPO / "tests" / "data"


def words_of(text: str) -> tuple[list[str], list[str], list[str]]:
    s = tag_texts([text]).sentence(0)
    return [t[0] for t in s], [t[1] for t in s], [t[2] for t in s]


def test_the_pinned_tagger_finds_nouns_and_lemmas() -> None:
    tagged = tag_texts(["The sleeves are too long.", "Love it!", "Love it!"])
    assert len(tagged) == 3 and TAGGER_NAME.startswith("spacy-en_core_web_sm")
    first = tagged.sentence(0)
    assert ("sleeves", "NNS", "sleeve") in first
    # Identical texts are tagged once and share their rows' content.
    assert tagged.sentence(1) == tagged.sentence(2) == [("love", "VB", "love"), ("it", "PRP", "it"),
                                                        ("!", ".", "!")]
    picked = tagged.select(np.array([2, 0]))
    assert picked.sentence(1) == first and len(picked) == 2


def test_taggings_are_cached_by_content() -> None:
    texts = ["The zipper broke after a week.", "Great color."]
    first = tag_texts(texts, cache=True)
    again = tag_texts(texts, cache=True)
    assert [first.sentence(k) for k in range(2)] == [again.sentence(k) for k in range(2)]


def test_clauses_split_at_contrast_not_inside_a_list() -> None:
    forms, tags, _ = words_of("The color is gorgeous but it runs small.")
    spans = clause_spans(forms, tags)
    assert [" ".join(forms[a:b]) for a, b in spans] == ["the color is gorgeous", "it runs small"]
    forms, tags, _ = words_of("It is soft and comfortable.")
    assert len(clause_spans(forms, tags)) == 1
    forms, tags, _ = words_of("The fabric is soft and the sleeves are long.")
    assert len(clause_spans(forms, tags)) == 2


def test_negation_marks_the_rest_of_its_clause() -> None:
    forms, tags, lemmas = words_of("It is not flattering at all, but the color is nice.")
    a, b = clause_spans(forms, tags)[0]
    words = marked_words(forms, lemmas, a, b)
    assert "NOT_flattering" in words and "flattering" not in words
    whole = sentence_words(forms, tags, lemmas)
    assert "nice" in whole and "NOT_nice" not in whole
    # Aspect nouns given as skipped never become features.
    forms, tags, lemmas = words_of("The fabric is thin.")
    assert "fabric" not in marked_words(forms, lemmas, 0, len(forms), tags, {"fabric"})


def _rated_sentences() -> tuple[list[str], np.ndarray]:
    good = ["It fits perfectly.", "The fabric is soft and lovely.", "True to size and so flattering.",
            "The color is rich.", "Comfortable all day."]
    bad = ["It runs small.", "The fabric is thin and see-through.", "I had to return it.",
           "The seams came apart.", "Way too tight in the arms."]
    texts = [t for _ in range(45) for t in good] + [t for _ in range(45) for t in bad]
    ratings = np.array([5.0] * (45 * len(good)) + [1.0] * (45 * len(bad)))
    return texts, ratings


def test_the_polarity_model_learns_the_domain_from_ratings() -> None:
    texts, ratings = _rated_sentences()
    model = fit_polarity(tag_texts(texts), texts, ratings, source="test", exclude={"fabric"})
    assert model.report["held_out"] > 0 and model.report["auc"] > 0.9
    assert "fabric" in model.skip_nouns and "fabric" not in model.weights
    score = {}
    for text in ("It runs small.", "It fits perfectly."):
        forms, tags, lemmas = words_of(text)
        score[text] = model.score(sentence_words(forms, tags, lemmas, model.skipped), text)
    # VADER scores "runs small" 0; the ratings say it is a complaint.
    assert score["It runs small."] < 0 < score["It fits perfectly."]
    again = fit_polarity(tag_texts(texts), texts, ratings, source="test", exclude={"fabric"})
    assert again == model  # deterministic
    round_trip = PolarityModel.model_validate_json(model.model_dump_json())
    assert round_trip == model


def test_too_few_rated_sentences_is_an_error_not_a_guess() -> None:
    texts = ["Nice.", "Bad."] * 10
    with pytest.raises(PolarityError, match="at least 200"):
        fit_polarity(tag_texts(texts), texts, np.array([5.0, 1.0] * 10), source="test")
    assert PolarityModel.vader_only().score([], "This is awful.") < 0


LEX = AspectLexicon(terms={"color": 0, "small": 1, "size": 1, "fabric": 2, "battery life": 3, "life": 4},
                    derived={"comfortable": 5}, verbs={"fit": 1}, cues={"soft": 2})


def test_mentions_read_terms_derived_words_and_cues_per_clause() -> None:
    texts = ["The color is gorgeous but it runs small.", "Love it!", "I bought this for my sister's wedding.",
             "So soft and comfortable.", "The battery life is great.", "It fits perfectly."]
    m = find_mentions(tag_texts(texts), LEX, PolarityModel.vader_only())
    by = m.by_sentence(len(texts))
    got = [[(int(m.aspect[r]), int(m.source[r]), m.word[r]) for r in rows] for rows in by]
    assert got[0] == [(0, TERM, "color"), (1, DERIVED, "small")]
    assert m.polarity[by[0][0]] > 0  # "the color is gorgeous", not the whole sentence
    assert got[1] == [] and got[2] == []  # a verdict and a purchase story ground nothing
    assert sorted(got[3]) == [(2, CUE, "soft"), (5, DERIVED, "comfortable")]
    assert got[4] == [(3, TERM, "life")]  # the compound term, not its head alone
    assert got[5] == [(1, DERIVED, "fits")]
    # A sentence's primary aspect is its first mention: terms and derived words before cues.
    assert m.primary(len(texts)).tolist() == [0, -1, -1, 5, 3, 1]


def test_excess_and_off_sizes_are_complaints_whatever_the_stars() -> None:
    texts, ratings = _rated_sentences()
    model = fit_polarity(tag_texts(texts), texts, ratings, source="test")
    for text, complaint in (("It runs large.", True), ("The sleeves are way too long.", True),
                            ("It ran a bit small.", True), ("It is not too long.", False),
                            ("It runs true to size.", False), ("Too cute!", False)):
        forms, tags, lemmas = words_of(text)
        words = sentence_words(forms, tags, lemmas)
        assert (OFF_THE_MARK in words) is complaint, text
        if complaint:
            assert model.score(words, text) <= -0.4


def test_a_weak_clause_takes_its_sentence_polarity() -> None:
    texts = ["I love this tunic, the detail, the fringe."]
    lex = AspectLexicon(terms={"detail": 0}, derived={}, verbs={}, cues={})
    tagged = tag_texts(texts)
    plain = find_mentions(tagged, lex, PolarityModel.vader_only())
    assert abs(plain.polarity[0]) < 0.15
    helped = find_mentions(tagged, lex, PolarityModel.vader_only(), sentence_polarity=np.array([0.8]))
    assert helped.polarity[0] == pytest.approx(0.8)


def test_the_hand_labelled_set_is_whole_and_valid() -> None:
    every = load_labelled(DATA / "clothing_aspects.jsonl")
    assert len(every) == 600 and len({s.id for s in every}) == 600
    path = DATA / "clothing_aspects.jsonl"
    dev, test = load_labelled(path, "dev"), load_labelled(path, "test")
    assert (len(dev), len(test)) == (200, 400)
    inventory = {"fit", "size", "fabric", "color", "length", "style", "comfort", "quality", "price", "care"}
    assert all(x.aspect in inventory for s in every for x in s.labels)
    assert 0.2 < sum(not s.labels for s in every) / len(every) < 0.5
    assert (DATA / "clothing_aspects.md").is_file()


def test_scoring_maps_each_found_aspect_to_its_majority_label() -> None:
    gold = [LabelledSentence.model_validate(json.loads(line)) for line in (
        '{"id": "a", "split": "dev", "text": "x", "labels": [{"aspect": "fit", "polarity": "neg"}]}',
        '{"id": "b", "split": "dev", "text": "y", "labels": [{"aspect": "fit", "polarity": "pos"}]}',
        '{"id": "c", "split": "dev", "text": "z", "labels": []}',
        '{"id": "d", "split": "dev", "text": "w", "labels": [{"aspect": "color", "polarity": "pos"}]}',
    )]
    predicted = [{"size": -0.5}, {"size": -0.2}, {"junk": 0.1}, {}]
    s = score_labelled(gold, predicted)
    assert s.mapping == {"junk": "none", "size": "fit"}
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.no_aspect_recall == 0.0 and s.junk_share == pytest.approx(1 / 3)
    assert s.polarity_accuracy == pytest.approx(0.5) and s.polar_pairs == 2
    with pytest.raises(ValueError, match="4 labelled sentences but 3"):
        score_labelled(gold, predicted[:3])
