"""The polish mode's rewriter: a model rewrites a grounded draft turn; the turn keeps the draft unless the
rewrite keeps its meaning and passes the node's validators.

The scripted realizer (:mod:`agents.realizer`) drafts every turn; :class:`Polisher` asks the model to
rewrite one draft at a time, with the transcript before it as context, up to ``tries`` times (each try
with its own seed, so a retry is a new sample). A try is accepted when the meaning check
(:mod:`agents.meaning`) finds nothing and the caller's ``validate`` (the executor runs the node's
validators on the attempt with the rewrite in place) returns no reasons. Otherwise the turn keeps its
draft, and the outcome says so: ``realizer`` is ``"model"`` or ``"draft"``, with every try's text and
reasons, so a kept draft is always labelled and counted, never silent.

The prompt follows the rewriting prompts SmolLM2 was tuned on ("You're an AI assistant for text
re-writing ..."), with the draft framed as reported speech (``The shopper says: "..."``): tried by hand
on SmolLM2-135M while building this mode (not benchmarked), a bare draft is answered as a chat message
far more often, a question most of all. The frame is taken off the answer (a rewrite that still reports
the turn is refused by the meaning check). The last ``context`` turns of the transcript can go into the
system message; tried the same way, SmolLM2 then comments on them instead of rewriting, so the run's
default shows none.
Generation stops at a line break and is capped a little above the draft's length: a rewrite is one
message, and a model that runs on past it is drifting.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from autogen_core.models import ChatCompletionClient, LLMMessage, SystemMessage, UserMessage

from agents.dialog import Realizer, Turn
from agents.errors import BadOutput
from agents.meaning import MeaningCheck, MeaningReference
from agents.personas import Persona
from agents.prompts import DIRECTOR

__all__ = ["POLISH_TEMPERATURE", "PolishOutcome", "PolishTry", "Polisher", "polish_messages", "unframe",
           "voice_for"]

Validate = Callable[[str], Awaitable[list[str]]]

_SYSTEM = ("You're an AI assistant for text re-writing. Rewrite the input text to make it {voice} while "
           "preserving its core meaning.")
_CONTEXT = ' It replies to: "{text}"'
_SPEAKER = {"user": "The shopper", "system": "The shop assistant"}
# What a model may put before the rewrite, echoing the frame ("The shop assistant responds: ...").
_FRAME = re.compile(r'^\s*(?:the\s+)?(?:shop\s+assistant|shopper|assistant|customer|owner|buyer)'
                    r'(?:\s+(?:says|said|responds|replies|asks|answers|writes|is\s+(?:saying|asking|replying)))?'
                    r'\s*(?::\s*"?|,?\s*")', re.I)
# A low temperature keeps SmolLM2's rewrite close to its draft: of the 240 hand-labelled rewrites
# (tests/data/polish_labels.md), 27 of 120 at 0.3 keep the meaning, 17 of 120 at 0.7.
POLISH_TEMPERATURE = 0.3


@dataclass(frozen=True)
class PolishTry:
    """One rewrite the model wrote, and why it was refused (empty: accepted)."""

    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PolishOutcome:
    """What a polished turn says, who realized it, and every try behind it."""

    text: str
    draft: str
    realizer: Realizer
    tries: tuple[PolishTry, ...]


def polish_messages(draft: Turn, before: Sequence[Turn], *, context: int = 0, voice: str = "more concise"
                    ) -> list[LLMMessage]:
    """The rewrite request for ``draft``: the instruction (with the last ``context`` turns), then the draft
    framed as what its speaker says."""
    system = _SYSTEM.format(voice=voice)
    shown = list(before)[-context:] if context > 0 else []
    if shown:
        system += _CONTEXT.format(text=" ".join(t.text for t in shown).replace('"', "'"))
    said = draft.text.replace('"', "'")
    return [SystemMessage(content=system),
            UserMessage(content=f'{_SPEAKER[draft.speaker]} says: "{said}"', source=DIRECTOR)]


def unframe(answer: str) -> str:
    """The rewrite in a model's answer: one line, the echoed frame and the quotes around it taken off."""
    text = " ".join(answer.split())
    text = _FRAME.sub("", text, count=1)
    return text.strip().strip('"').strip()


def voice_for(persona: Persona | None) -> str:
    """How a persona's rewrite should read: shorter still for a terse persona. (The draft already speaks in
    the persona's register; a small model asked for any other voice than "concise" drifts far more.)"""
    if persona is not None and persona.knobs.verbosity == 1:
        return "shorter and more concise"
    return "more concise"


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


class Polisher:
    """Rewrites draft turns with ``client``, checked by ``meaning`` and the caller's validators."""

    def __init__(self, client: ChatCompletionClient, meaning: MeaningCheck, *, tries: int = 2,
                 context: int = 0, max_tokens: int = 64, temperature: float = POLISH_TEMPERATURE) -> None:
        if tries < 1:
            raise ValueError(f"tries must be >= 1, got {tries}")
        self.client = client
        self.meaning = meaning
        self.tries = tries
        self.context = context
        self.max_tokens = max_tokens
        self.temperature = temperature

    def _args(self, draft: str, key: str, k: int) -> dict[str, object]:
        # A rewrite may be a little longer than its draft, never a speech (about 1.3 tokens a word; the
        # echoed frame costs a few more).
        cap = min(self.max_tokens, int(len(draft.split()) * 1.6) + 16)
        return {"seed": _seed(f"{key}|{k}"), "max_tokens": cap, "stop": ["\n"],
                "temperature": self.temperature}

    async def polish(self, draft: Turn, before: Sequence[Turn], ref: MeaningReference, validate: Validate, *,
                     key: str, voice: str = "more concise") -> PolishOutcome:
        """The turn's text after at most ``tries`` rewrites (``key`` seeds them: same key, same tries)."""
        messages = polish_messages(draft, before, context=self.context, voice=voice)
        tries: list[PolishTry] = []
        for k in range(self.tries):
            try:
                result = await self.client.create(messages, extra_create_args=self._args(draft.text, key, k))
            except BadOutput as exc:
                # An answer refused before reading it (over the length bounds, say) is a refused try.
                tries.append(PolishTry("", (f"the model's answer was refused ({exc.message})",)))
                continue
            if not isinstance(result.content, str):
                tries.append(PolishTry(repr(result.content)[:200], ("the model answered with something other "
                                                                    "than text",)))
                continue
            text = unframe(result.content)
            if result.finish_reason == "length":
                reasons = ["the rewrite was cut off at its length limit"]
            else:
                reasons = self.meaning.reasons(draft.text, text, ref)
            if not reasons:
                reasons = await validate(text)
            tries.append(PolishTry(text, tuple(reasons)))
            if not reasons:
                return PolishOutcome(text=text, draft=draft.text, realizer="model", tries=tuple(tries))
        return PolishOutcome(text=draft.text, draft=draft.text, realizer="draft", tries=tuple(tries))
