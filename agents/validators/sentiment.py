"""The stance of a clause: VADER, with what people say about products that VADER does not read.

A turn is cut into sentences (at . ! ? and line breaks) and clauses (at contrast words, ", and",
semicolons and colons); each clause gets one stance. Before VADER scores it:

- framing and acknowledgements carry no judgement and go: "honestly", "I'll be honest", "to be fair",
  "yeah —", "good call —" (VADER reads "honest", "fair", "yeah" and "good" as praise, and "I'll be honest,
  buyers are critical of its bass" came out positive);
- idioms of complaint and praise are rewritten to a word VADER knows: "can't stand", "let me down",
  "fell apart", "never works", "too pricey", "gets a lot of complaints", "no issues", "worth it";
- words reviews use and VADER lacks get a valence ("overpriced", "flimsy", "letdown", "sturdy",
  "top-notch", "raves");
- the aspect's own nouns are masked: "comfort" alone scores +0.6 in VADER, and names what is judged,
  not how. Derived adjectives stay ("comfortable" is the judgement).

A request that rules out something bad ("no poor battery, please") voices a complaint, although VADER's
negation rule scores it positive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from agents.catalog import normalise_tokens
from agents.validators.aspect_mentions import AspectTerms
from agents.validators.wordforms import lemma

__all__ = ["clause_sentiment", "clauses", "sentences", "stance"]

# Emoji end sentences as often as full stops do ("... like a spa 🧖 Price is my annoyance").
_EMOJI = "\U0001F300-\U0001FAFF\u2600-\u27BF"
# A decimal point ("the Solace S50 15.6-inch Laptop") ends no sentence.
_SENTENCE = re.compile(rf"(?:[^.!?\n{_EMOJI}]|(?<=\d)\.(?=\d))+(?:[.!?{_EMOJI}\ufe0f\u200d]+|$)")
# Not at dashes: "Strong fragrances — they're a nightmare" is one judgement.
_CLAUSE = re.compile(r"[;:]|,\s*(?:and|but|though|although|however|while|whereas)\b|"
                     r"\b(?:but|though|although|however|whereas)\b")


def sentences(text: str) -> list[str]:
    """The text's sentences (split after runs of . ! ? and at line breaks), stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip(" -*•\t")]


# Framing that judges nothing, wherever it stands in a clause.
_FRAMING = re.compile(
    r"\b(?:to be (?:honest|fair|frank|upfront)|(?:i'?ll|i will|i have to|i should|i must|i'?d have to|let me)"
    r" be (?:honest|upfront|frank|straight)(?: with you)?|if i'?m (?:being )?honest|in (?:all )?fairness|"
    r"honestly|frankly|truthfully|admittedly)\b[,:]?", re.I)
# Openers that acknowledge or answer before the clause says anything: dropped when punctuation follows
# them ("Great, ..." is an answer; "Great bass is a must" is a judgement and stays).
_OPENER = re.compile(
    r"^(?:yes|yeah|yep|yup|no|nope|nah|ok(?:ay)?|oh|ah|hmm+|um+|uh|well|so|sure|right|true|agreed|"
    r"absolutely|totally|definitely|of course|got it|understood|noted|thanks|thank you|good call|"
    r"fair enough|fair point|good point|great question|good question|you'?re right|you are right|"
    r"that'?s fair|that'?s true|i hear you|makes sense|great|perfect|nice|cool|awesome|wonderful|lovely|"
    r"sounds good|fair)\s*(?:[,!.:—–-]+\s*|$)", re.I)


def _bare(part: str) -> str:
    """The clause without framing and leading acknowledgements ("" when that is all it was)."""
    part = _FRAMING.sub("", part).strip(" ,-*•\t")
    while (m := _OPENER.match(part)) and m.end() < len(part):
        part = part[m.end():].strip(" ,-")
    return "" if _OPENER.fullmatch(part) else part


def clauses(text: str) -> list[str]:
    """Sentences split at contrast words, ", and", semicolons and colons, framing dropped."""
    return [b for s in sentences(text) for part in _CLAUSE.split(s) if (b := _bare(part))]


# Idioms VADER misreads, rewritten to a word it knows (order matters: the first match wins).
_IDIOMS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.I), w) for p, w in (
    (r"\b(?:no|zero|never(?: had)?(?: any)?|not (?:a|one|any)|without(?: any)?)\s+(?:real |major |big )?"
     r"(?:issues?|problems?|complaints?|troubles?|regrets?|fuss|hassle|leaks?)\b", " good "),
    (r"\b(?:can'?t|cannot|can not|couldn'?t) stand\b", " hate "),
    (r"\blet(?:s|ting)? (?:me|us|you|them|him|her|people|everyone) down\b|\blet-?downs?\b",
     " disappointing "),
    (r"\b(?:fell|falls?|falling) apart\b|\bbroke down\b|\bstopped working\b|"
     r"\b(?:doesn'?t|does not|didn'?t|did not|never) (?:really )?works?\b|"
     r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|wouldn'?t|never) (?:really |quite )?suits?\b",
     " failed "),
    (r"\btoo (?:much|many|expensive|pricey|heavy|tight|loose|small|big|strong|slow|loud|weak|bulky|greasy|"
     r"sticky|thick|stiff|dim|short|hot|harsh|flimsy)\b", " bad "),
    (r"\bnot worth\b|\bwaste of money\b", " bad "),
    (r"\blet(?:s|ting)? (?:the )?(?:water|rain|moisture) in\b|\bsoak(?:s|ed)? through\b", " leaky "),
    (r"\b(?:gets?|got|draws?|drew|has|had) (?:a lot of |lots of |quite a few |many |some |a few |plenty of )?"
     r"(?:complaints|criticism|gripes)\b", " criticized "),
    (r"\bworth (?:it|every penny|the money|the price)\b", " good "),
    # "Buyers agree it's slow": the reporting verb is no praise (VADER scores "agree" +1.5).
    (r"\bagree(?:s|d)?\b(?= (?:that|it|its|it's|they|their|the)\b)", " say "),
))
# Review words VADER lacks (valence on its -4..4 scale).
_DOMAIN = {
    "bargain": 1.8, "rave": 2.0, "raves": 2.0, "raved": 2.0, "sturdy": 1.6, "durable": 1.6, "roomy": 1.2,
    "snappy": 1.3, "zippy": 1.3, "comfy": 1.8, "top-notch": 2.5, "topnotch": 2.5, "well-made": 2.0,
    "spot-on": 2.0, "dreamy": 1.5, "punchy": 1.0, "crisp": 1.2, "cozy": 1.5, "plush": 1.2, "reliable": 1.5,
    "letdown": -2.0, "overpriced": -1.8, "pricey": -1.0, "flimsy": -1.8, "laggy": -1.6, "soggy": -1.5,
    "leaky": -1.6, "leaks": -1.2, "leaking": -1.2, "cramped": -1.4, "bulky": -1.0, "clunky": -1.4,
    "grainy": -1.2, "washed-out": -1.2, "gunk": -1.0, "greasy": -1.2, "itchy": -1.2, "stiff": -1.0,
    "overpowering": -1.5, "tinny": -1.5, "muddy": -1.0, "subpar": -1.8, "lackluster": -1.6, "lacking": -1.2,
    "mediocre": -1.5, "burnt": -1.2, "sour": -1.2, "dim": -0.8, "gripes": -1.2, "drawback": -1.0,
    "nightmare": -2.0, "hassle": -1.5, "dealbreaker": -1.5, "overpaying": -1.5, "overpaid": -1.5,
    "flat": -0.5, "slow": -1.0, "slower": -1.0, "fast": 0.8, "quick": 0.8,
}


@lru_cache(maxsize=1)
def _judge() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(_DOMAIN)
    return analyzer


_ASIDE = re.compile(r"\([^)]*\)")
_REQUEST = re.compile(r"\b(?:please|want|need|looking for|prefer|hope|hoping|would like|must)\b", re.I)
_NEGATOR = re.compile(r"\b(?:no|not|without|avoid|never)\b|n't\b", re.I)


def clause_sentiment(clause: str, mask: Iterable[AspectTerms] = ()) -> float:
    """VADER compound of a clause, idioms read, with the aspect nouns in ``mask`` taken out."""
    # Parenthetical asides ("(8 mentions)") carry no judgement, and VADER flips the sign of a clause
    # that ends in one (measured: "critical of its battery (8 mentions)" scores +0.32).
    text = _bare(_ASIDE.sub(" ", clause))
    for pattern, word in _IDIOMS:
        text = pattern.sub(word, text)
    words = text.split()
    # Terms by their first lemma, in mask order: a word is only tried against terms starting with it.
    masked: dict[str, list[tuple[str, ...]]] = {}
    for a in mask:
        for term in a.term_lemmas:
            masked.setdefault(term[0], []).append(term)
    if masked:
        keep: list[str] = []
        lemmas = [lemma(t) for w in words for t in (normalise_tokens(w) or [""])[:1]]
        k = 0
        while k < len(words):
            tried = masked.get(lemmas[k], ())
            hit = next((len(t) for t in tried if tuple(lemmas[k:k + len(t)]) == t), 0)
            if hit:
                k += hit
                continue
            keep.append(words[k])
            k += 1
        words = keep
    return float(_judge().polarity_scores(" ".join(words))["compound"])


def stance(clause: str, mask: Iterable[AspectTerms] = (), *, dead_zone: float = 0.25) -> int:
    """+1, -1 or 0: the clause's judgement of what it talks about (0 inside the dead zone)."""
    mask = list(mask)
    if _REQUEST.search(clause) and _NEGATOR.search(clause):
        lex = _judge().lexicon
        words = [w.strip(".,;:!?\"()").lower() for w in clause.split()]
        for k, w in enumerate(words):
            negator = w in ("no", "not", "without", "avoid", "never") or w.endswith(("n't", "n’t"))
            if negator and any(lex.get(x, 0.0) < -0.5 for x in words[k + 1:k + 4]):
                return -1
    score = clause_sentiment(clause, mask)
    if score >= dead_zone:
        return 1
    if score <= -dead_zone:
        return -1
    return 0
