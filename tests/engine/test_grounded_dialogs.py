"""A thousand scripted dialogs of the small sample world, with out-of-role turns planted in a quarter
of the first attempts: nobody speaks twice in a row, every evidence quote comes from the seed's
category and has the sign of the stance it backs, every retry prompt's feedback is about that role's
own turn (as an instruction, only the cited turn text quoted), every community claim rests on enough
mentions, and every fact a turn carries points to real stage-1 sentences from before the seed."""

from __future__ import annotations

import re
from itertools import pairwise

import anyio
import pytest

from agents.directive import Directive
from agents.scripted import ScriptedClient
from agents.validators import default_validators
from engine.core.dialog_inputs import DialogInput, PreparedDialogs, prepare_dialog_set
from engine.core.events import MemorySink, TickClock
from engine.core.executor import DialogResult
from engine.core.records import dialog_record
from profiling.corpus import Corpus, to_millis
from profiling.sample_world import load_sample_world
from tests.support.plan_facts import community_facts, user_facts
from tests.support.prompt_log import PromptLog
from tests.support.worlds import WORLD

pytestmark = pytest.mark.timeout(1500)
N_DIALOGS = 1000
MIN_MENTIONS = 5

Played = list[tuple[DialogInput, DialogResult, PromptLog]]


@pytest.fixture(scope="module")
def world(session_cache: None) -> tuple[Corpus, PreparedDialogs]:
    corpus = load_sample_world(WORLD)
    return corpus, prepare_dialog_set(corpus, n=N_DIALOGS)


@pytest.fixture(scope="module")
def played(world: tuple[Corpus, PreparedDialogs]) -> Played:
    _, prepared = world

    async def play() -> Played:
        out: Played = []
        validators = default_validators()
        for d in prepared.inputs:
            log = PromptLog(ScriptedClient(), plant=True)
            ex = prepared.executor(d, log, validators, MemorySink(), clock=TickClock())
            out.append((d, await ex.run(d.plan, d.context), log))
        return out

    return anyio.run(play)


def test_a_thousand_dialogs_were_played_and_accepted(played: Played) -> None:
    assert len(played) == N_DIALOGS
    assert sum(r.status == "accepted" for _, r, _ in played) == N_DIALOGS


def test_no_speaker_talks_twice_in_a_row(played: Played) -> None:
    for _, result, _ in played:
        said = [t.speaker for t in result.turns]
        assert said[0] == "system"
        assert all(a != b for a, b in pairwise(said)), said


def test_every_evidence_quote_is_of_the_seeds_category_and_the_sign_it_backs(
    world: tuple[Corpus, PreparedDialogs], played: Played
) -> None:
    corpus, prepared = world
    res = prepared.profiling
    assert res.mentions is not None
    polarity = {(int(s), int(a)): float(p) for s, a, p in
                zip(res.mentions.sentence, res.mentions.aspect, res.mentions.polarity, strict=True)}
    item_of = [corpus.item_ids[int(i)] for i in res.table.item]
    quotes = 0
    for d, _, log in played:
        category = d.context.target.category
        for seen in log.seen:
            b = seen.directive.binding
            for f in user_facts(b):
                assert len(f.evidence) == len(f.evidence_ids)
                for sid in f.evidence_ids:
                    assert corpus.items[item_of[sid]].category == category
                    assert polarity[(sid, f.aspect)] * f.polarity > 0
                    quotes += 1
            for c in community_facts(b):
                assert len(c.evidence) == len(c.evidence_ids)
                assert c.stance != "mixed" or not c.evidence  # a split view is not shown by one side
                for sid in c.evidence_ids:
                    assert item_of[sid] == c.item and corpus.items[c.item].category == category
                    assert polarity[(sid, c.aspect)] * (1 if c.stance == "positive" else -1) > 0
                    quotes += 1
    assert quotes > 1000


_FEEDBACK = re.compile(r"^- (.*)$", re.M)


def _feedback_lines(instruction: str) -> list[str]:
    _, _, tail = instruction.partition("failed these checks; fix them in this message:")
    return _FEEDBACK.findall(tail) if tail else []


def test_every_retry_prompt_is_told_about_its_own_roles_turn(played: Played) -> None:
    retries = 0
    for _, _, log in played:
        corrupted = {(s.directive.node_index, s.directive.role) for s in log.seen if s.corrupted}
        for s in log.seen:
            d: Directive = s.directive
            if d.attempt == 1:
                assert not d.feedback
                continue
            retries += 1
            own = [f for f in d.feedback if f.role == d.role]
            assert all(f.role in (d.role, None) for f in d.feedback)
            if d.attempt == 2:  # right after the planted fault: told about it iff its own turn had it
                assert bool(own) == ((d.node_index, d.role) in corrupted)
            for f in own:
                assert f.text.startswith(f"The {d.role}'s message")
            lines = _feedback_lines(s.instruction)
            assert len(lines) == len(d.feedback)
            for line in lines:
                # An instruction, not a quote: only the cited turn text sits inside <quote>.
                assert not line.startswith("<quote>") and "<quote>System:</quote>" in line
    assert retries > 300


def test_every_community_claim_rests_on_enough_mentions(played: Played) -> None:
    claims = 0
    for _, result, log in played:
        for node in result.plan.nodes:
            for c in community_facts(node):
                assert c.mentions >= MIN_MENTIONS and c.stance in ("positive", "negative", "mixed")
                claims += 1
        for s in log.seen:
            assert all(c.mentions >= MIN_MENTIONS for c in community_facts(s.directive.binding))
    assert claims > 500


def test_every_fact_in_the_dataset_points_to_earlier_sentences_of_its_aspect(
    world: tuple[Corpus, PreparedDialogs], played: Played
) -> None:
    corpus, prepared = world
    res = prepared.profiling
    assert res.mentions is not None
    mentioned = set(zip(res.mentions.sentence.tolist(), res.mentions.aspect.tolist(), strict=True))
    checked = 0
    for d, result, _ in played:
        record = dialog_record(result, d.context, corpus, backend="scripted", user_persona="default",
                               system_persona="default", run_seed=0)
        seed_ms = to_millis(d.context.seed.target.timestamp)
        user = corpus.user_index(d.context.seed.user)
        for turn in record["turns"]:
            for g in turn["grounding"]:
                assert g["sentence_ids"] and g["mentions"] >= len(set(g["sentence_ids"])) > 0
                assert set(g["evidence_ids"]) <= set(g["sentence_ids"])
                for sid in g["sentence_ids"]:
                    assert 0 <= sid < len(res.table)
                    assert int(res.table.ts[sid]) < seed_ms
                    assert (sid, g["aspect"]) in mentioned
                    own = int(res.table.user[sid]) == user
                    # A preference rests on the user's own sentences, a claim on other buyers' of that item.
                    assert own if g["kind"] == "preference" else (
                        not own and corpus.item_ids[int(res.table.item[sid])] == g["item"])
                    checked += 1
        for x in record["declines"]:
            assert x["complaint_ids"] and all(int(res.table.user[s]) == user for s in x["complaint_ids"])
            assert all((s, x["aspect"]) in mentioned and int(res.table.ts[s]) < seed_ms
                       for s in x["complaint_ids"])
    assert checked > 10_000
