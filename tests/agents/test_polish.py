"""The polisher: one draft rewritten by a model, kept only when meaning and validators hold."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from autogen_core.models import LLMMessage

from agents.backends import FakeChatClient
from agents.catalog import Catalog
from agents.dialog import Turn
from agents.errors import LLMServerError
from agents.meaning import MeaningCheck, MeaningReference
from agents.polish import POLISH_TEMPERATURE, Polisher, polish_messages, unframe
from agents.validators.signals import aspect_terms
from profiling.corpus import Item
from profiling.profiles import Aspect

REF = MeaningReference(speaker="user", table=[aspect_terms(Aspect(id=0, name="fit"), aspect_id=0)],
                       catalog=Catalog({"T": Item(id="T", title="Tavish P30 Trail Shoe")}),
                       titles=("Tavish P30 Trail Shoe",))
DRAFT = Turn(index=3, node_index=1, node="elicit", attempt=1, speaker="user",
             text="Great fit is a must for me.", realizer="draft")
BEFORE = (Turn(index=2, node_index=1, node="elicit", attempt=1, speaker="system",
               text="What matters to you?"),)


async def no_reasons(text: str) -> list[str]:
    return []


def answers(*texts: str) -> FakeChatClient:
    queue = list(texts)
    return FakeChatClient(lambda messages: queue.pop(0))


async def test_an_accepted_rewrite_is_the_models_turn() -> None:
    client = answers('The shopper says: "A great fit is essential for me."')
    out = await Polisher(client, MeaningCheck(None)).polish(DRAFT, BEFORE, REF, no_reasons, key="k")
    assert out.realizer == "model" and out.text == "A great fit is essential for me."
    assert out.draft == DRAFT.text and [t.reasons for t in out.tries] == [()]


async def test_every_refused_try_is_kept_and_the_turn_keeps_its_draft() -> None:
    client = answers("I love pizza.", "Great fit is a must for me.")
    out = await Polisher(client, MeaningCheck(None), tries=2).polish(DRAFT, BEFORE, REF, no_reasons, key="k")
    assert out.realizer == "draft" and out.text == DRAFT.text
    assert [t.text for t in out.tries] == ["I love pizza.", "Great fit is a must for me."]
    assert "the rewrite drops the aspect 'fit'" in out.tries[0].reasons
    assert out.tries[1].reasons == ("the rewrite is the draft unchanged",)


async def test_the_validators_have_the_last_word() -> None:
    async def refuse(text: str) -> list[str]:
        return [f"validator says no to {text!r}"]

    out = await Polisher(answers("A great fit is essential for me."), MeaningCheck(None), tries=1).polish(
        DRAFT, BEFORE, REF, refuse, key="k")
    assert out.realizer == "draft"
    assert out.tries[0].reasons == ("validator says no to 'A great fit is essential for me.'",)


async def test_each_try_is_its_own_seeded_capped_sample() -> None:
    client = answers("x", "y", "z")
    polisher = Polisher(client, MeaningCheck(None), tries=3)
    await polisher.polish(DRAFT, BEFORE, REF, no_reasons, key="dialog|1")
    args = [call.request_hash for call in client.calls]
    assert len(set(args)) == 3  # a new seed each try: three different requests
    again = answers("x", "y", "z")
    await Polisher(again, MeaningCheck(None), tries=3).polish(DRAFT, BEFORE, REF, no_reasons, key="dialog|1")
    assert [c.request_hash for c in again.calls] == args  # same key, same requests


async def test_a_model_error_is_raised_not_hidden() -> None:
    def fail(messages: Sequence[LLMMessage]) -> str:
        raise LLMServerError("boom", status=500)

    with pytest.raises(LLMServerError):
        await Polisher(FakeChatClient(fail), MeaningCheck(None)).polish(DRAFT, BEFORE, REF, no_reasons,
                                                                        key="k")


def test_the_prompt_frames_the_draft_and_can_show_context() -> None:
    plain = polish_messages(DRAFT, BEFORE)
    assert plain[-1].content == 'The shopper says: "Great fit is a must for me."'
    assert "text re-writing" in str(plain[0].content) and "replies to" not in str(plain[0].content)
    with_context = polish_messages(DRAFT, BEFORE, context=1)
    assert 'It replies to: "What matters to you?"' in str(with_context[0].content)
    assert POLISH_TEMPERATURE < 0.5


@pytest.mark.parametrize(("answer", "text"), [
    ('The shop assistant responds: "Hello there!', "Hello there!"),
    ('The shopper says: "I want it."', "I want it."),
    ('The shop assistant is asking: "Is there anything else you want?', "Is there anything else you want?"),
    ("I like it.\n", "I like it."),
    ("The shopper thanks the assistant for the help.", "The shopper thanks the assistant for the help."),
])
def test_unframe_takes_off_the_echoed_frame_only(answer: str, text: str) -> None:
    assert unframe(answer) == text
