"""The scripted realizer's pen: seeded choices, persona registers, evidence clauses and proportions.

A :class:`Writer` holds one directive and a generator seeded by the directive's seed (dialog, node,
attempt, exchange, role), so the same directive always gives the same text and a retry a new one.
It draws templates from the phrase banks (:mod:`agents.realizer.banks_user`,
:mod:`agents.realizer.banks_system`) by act and persona register, and knows the few things every
turn needs: how an aspect is said, how an item is referred to, which of a review's clauses may be
quoted for a stance, and how many buyers say what ("most of the 40 buyers who mention it").
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Protocol

from agents.catalog import normalise_tokens
from agents.directive import Directive, speakable_name
from agents.realizer.grammar import expand

__all__ = ["Bank", "Writer", "agreeing_clause", "cap", "lower_first"]

# act -> register -> templates; the "*" register serves every persona without a bank of its own.
Bank = Mapping[str, Mapping[str, Sequence[str]]]


class _Community(Protocol):
    """What a community fact offers a writer (planners.plan.CommunityFact, agents.directive.AspectNote)."""

    name: str
    sentiment: float
    mentions: int
    trend: float
    evidence: tuple[str, ...]


def cap(text: str) -> str:
    """``text`` with a capital first letter."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """``text`` continuing a sentence begun before it ("I" stays a capital)."""
    return text if text.startswith(("I ", "I'")) else text[:1].lower() + text[1:]


# -- quotable clauses of review sentences -----------------------------------------------------------
_CLAUSE_SPLIT = re.compile(r",|;|\bbut\b|\bthough\b|\balthough\b")
_TRAILING = re.compile(r"[\s.!?…]+$")
_NEGATION = re.compile(r"\b(?:no|not|never|nothing|none|without|hardly|cannot)\b|n't\b", re.IGNORECASE)
# Review text is untrusted: a clause carrying prompt markup is never spoken. Our own copy of the
# pattern, so the realizer does not depend on the validators.
_MARKUP = re.compile(r"<\|[\w-]{1,30}\|>|\[/?INST\]|<</?SYS>>|</?quote>|<<<|>>>|CONVREC-DIRECTIVE", re.I)


@lru_cache(maxsize=65536)
def agreeing_clause(sentence: str, polarity: int, name: str | None = None,
                    aliases: tuple[str, ...] = ()) -> str | None:
    """The sentence's first clause, lower-cased and unterminated, if it plainly agrees with ``polarity``.

    A user's most recent sentences on an aspect need not share their overall stance, and the first
    clause keeps a paraphrase on one point; a clause that disagrees would contradict the statement.
    Kept only when it names the aspect as the statement does (``name`` or one of its ``aliases``;
    stage 1's clusters are noisy, so a sentence filed under one aspect may be about another) and has
    no negation ("no issues with the comfort" reads either way to a sentiment model, and so to a
    reader of the dataset). Its sentiment is read as the validators read a stance: VADER with the
    aspect's own words masked ("fit" alone is praise to VADER).
    """
    from agents.validators.signals import aspect_terms, clause_sentiment

    first = _CLAUSE_SPLIT.split(sentence, maxsplit=1)[0]
    first = "".join(ch for ch in first if ch.isascii()).strip()
    first = _TRAILING.sub("", first)
    if len(first.split()) < 3 or _NEGATION.search(first) or _MARKUP.search(first):
        return None
    mask = []
    if name is not None:
        toks = normalise_tokens(first)
        wanted = [normalise_tokens(n) for n in (name, *aliases)]
        if not any(w and any(toks[i:i + len(w)] == w for i in range(len(toks) - len(w) + 1)) for w in wanted):
            return None
        mask = [aspect_terms(None, aspect_id=-1, names=[name, *aliases])]
    score = clause_sentiment(first, mask)
    if (polarity > 0 and score < 0.05) or (polarity < 0 and score > -0.05):
        return None
    return lower_first(first)


# -- how many buyers say what -----------------------------------------------------------------------
def _stance_of(c: _Community) -> str:
    """positive, negative or mixed: the fact's own stance when it has one, else its sentiment's sign."""
    stance = getattr(c, "stance", None)
    if stance in ("positive", "negative", "mixed"):
        return str(stance)
    if c.sentiment > 0.05:
        return "positive"
    if c.sentiment < -0.05:
        return "negative"
    return "mixed"


_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve")


def _number(n: int) -> str:
    return _NUMBERS[n] if 0 <= n < len(_NUMBERS) else str(n)


class Writer:
    """Builds one turn: seeded choices from the banks in the persona's register, plus its knobs."""

    def __init__(self, d: Directive, banks: Bank) -> None:
        self.d = d
        self.k = d.knobs
        self.banks = banks
        self.rng = random.Random(int(d.seed, 16))

    # -- drawing text -----------------------------------------------------------------------------
    def say(self, act: str, **slots: str) -> str:
        """One sentence for ``act`` in this persona's register (its own bank, else the shared one)."""
        by_register = self.banks[act]
        bank = by_register.get(self.d.persona) or by_register["*"]
        return expand(self.rng.choice(bank), self.rng, **slots)

    def chance(self, p: float) -> bool:
        """True with probability ``p`` (drawn from the turn's generator)."""
        return self.rng.random() < p

    def one(self, options: Sequence[str]) -> str:
        """One of ``options``, uniformly."""
        return self.rng.choice(options)

    @property
    def terse(self) -> bool:
        """The persona says the bare minimum."""
        return self.k.verbosity == 1

    @property
    def chatty(self) -> bool:
        """The persona elaborates."""
        return self.k.verbosity >= 3

    def hedge(self, sentence: str) -> str:
        """The sentence, opened with one of the persona's hedges at its hedge rate."""
        if self.k.hedge_rate and self.k.hedges and self.chance(self.k.hedge_rate):
            return f"{self.one(self.k.hedges)} {lower_first(sentence)}"
        return sentence

    def excite(self, sentence: str) -> str:
        """The sentence with "!" for "." at the persona's exclamation rate."""
        if sentence.endswith(".") and self.k.exclamation_rate and self.chance(self.k.exclamation_rate):
            return sentence[:-1] + "!"
        return sentence

    def filler(self) -> list[str]:
        """An aspect-free small-talk line, every other turn or so of a chatty persona."""
        if self.chatty and self.k.fillers and self.chance(0.5):
            return [self.one(self.k.fillers)]
        return []

    # -- names ------------------------------------------------------------------------------------
    @staticmethod
    def aspect(name: str) -> str:
        """An aspect as a person says it ("fragrance", not "fragrance / scent / smell")."""
        return speakable_name(name)

    def refer(self, name: str) -> str:
        """The aspect as this turn says it: its name, or now and then one of its aliases (other words
        the directive vouches name this aspect alone, e.g. "rain protection" for water resistance)."""
        aliases = self.d.aliases.get(name, ())
        if aliases and self.chance(0.6):
            return self.one(aliases)
        return self.aspect(name)

    def item(self, title: str) -> str:
        """The item as a person refers to it: its whole title, or often its brand and model ("the Tavish
        P30"), which still names it (agents.validators.mentions)."""
        words = title.split()
        if len(words) >= 3 and any(ch.isdigit() for ch in words[1]) and self.chance(0.6):
            return " ".join(words[:2])
        return title

    # -- evidence ---------------------------------------------------------------------------------
    def quote(self, evidence: Sequence[str], polarity: int, name: str) -> str | None:
        """A clause of one of the sentences that agrees with ``polarity`` and names the aspect, or None."""
        start = self.rng.randrange(len(evidence)) if evidence else 0
        for k in range(len(evidence)):
            clause = agreeing_clause(evidence[(start + k) % len(evidence)], polarity, self.aspect(name),
                                     self.d.aliases.get(name, ()))
            if clause is not None:
                return clause
        return None

    # -- proportions ------------------------------------------------------------------------------
    def stance(self, c: _Community) -> str:
        """positive, negative or mixed."""
        return _stance_of(c)

    def who(self, c: _Community) -> tuple[str, bool]:
        """Who says it, in proportion to how many do, and whether that subject is singular.

        With the fact's own counts of positive and negative mentions (when the plan carries them) the
        share of buyers on the fact's side is said ("most of the 40 buyers who mention it"); without
        them only how many mention the aspect at all.
        """
        n = int(c.mentions)
        stance = self.stance(c)
        side = getattr(c, "positive" if stance == "positive" else "negative", None)
        if n <= 0:
            return self.one(("buyers", "reviewers", "people who bought it")), False
        if n == 1:
            return self.one(("one buyer", "a single reviewer", "the one buyer who mentions it")), True
        if isinstance(side, int) and stance != "mixed" and 0 < side <= n:
            share = side / n
            if side == n:
                # "all of the": a capital "All 17" opening a sentence reads as a product name.
                return self.one((f"all of the {_number(n)} buyers who mention it",
                                 f"every one of the {_number(n)} reviewers who bring it up")), False
            if share >= 0.7:
                return self.one((f"most of the {_number(n)} buyers who mention it",
                                 f"{_number(side)} of the {_number(n)} reviewers who bring it up")), False
            if share >= 0.5:
                return self.one((f"about half of the {_number(n)} buyers who mention it",
                                 f"{_number(side)} of {_number(n)} reviewers")), False
            return self.one((f"{_number(side)} of the {_number(n)} buyers who mention it",
                             f"a minority of the {_number(n)} reviewers who bring it up")), side == 1
        if n <= 3:
            return self.one((f"{_number(n)} buyers", "a few buyers", "a couple of reviewers",
                             f"the {_number(n)} reviewers who mention it")), False
        if n <= 9:
            return self.one((f"{_number(n)} buyers", "several buyers", "a handful of reviewers",
                             f"the {_number(n)} reviewers who mention it")), False
        return self.one((f"{n} buyers", "many buyers", f"the {n} reviewers who mention it",
                         "plenty of reviewers" if n < 30 else "dozens of reviewers")), False

    def trend(self, c: _Community) -> str:
        """A clause on the aspect's recent direction, or nothing."""
        if c.trend > 0.05:
            return self.say("trend.up")
        if c.trend < -0.05:
            return self.say("trend.down")
        return ""

    def community(self, c: _Community, *, quote: bool = False) -> str:
        """A sentence on what buyers say of the aspect, in proportion and in the fact's direction."""
        stance = self.stance(c)
        subject, singular = self.who(c)
        act = f"community.{stance}" + (".one" if singular else "")
        text = self.say(act, who=subject, name=self.refer(c.name))
        trend = self.trend(c)
        if trend:
            text = text.rstrip(".!") + trend + "."
        if quote and stance != "mixed" and c.evidence:
            clause = self.quote(c.evidence, 1 if stance == "positive" else -1, c.name)
            if clause is not None:
                text += " " + self.say("community.quote", clause=clause)
        return text
