"""``--min-mentions`` reaches the planner: a run's plans bind no community fact thinner than it."""

from __future__ import annotations

import pytest

from engine.config import RunSettings
from engine.pipeline import prepare_dialogs_of
from profiling.sample_world import load_sample_world
from tests.support.plan_facts import community_facts
from tests.support.worlds import WORLD


def _mentions(min_mentions: int) -> list[int]:
    corpus = load_sample_world(WORLD)
    prepared = prepare_dialogs_of(RunSettings(dialogs=60, min_mentions=min_mentions), corpus)
    return [c.mentions for d in prepared.inputs for n in d.plan.nodes for c in community_facts(n)]


def test_the_minimum_of_mentions_is_the_runs_setting(session_cache: None) -> None:
    default = _mentions(RunSettings().min_mentions)
    strict = _mentions(20)
    assert default and strict
    assert min(default) >= 5 and min(strict) >= 20
    assert min(default) < 20  # the default plans do bind facts the stricter run leaves out


def test_the_minimum_is_bounded() -> None:
    with pytest.raises(ValueError, match="min_mentions"):
        RunSettings(min_mentions=0)
