"""Text signals the rule validators read from turns: questions, offers, acceptance, role slips, aspects.

Everything here is plain-text analysis with no model: regular expressions over the message, VADER
for sentiment (with the aspect words themselves masked, since "comfort" alone scores +0.6 in VADER's
lexicon), and token matching for aspects and product names. The signals are deliberately about what
a reader of the turn would conclude, not about how any one realizer phrases things, so the same
checks judge scripted text and real LLM text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from agents.catalog import Catalog, normalise_tokens
from agents.validators.mentions import item_referenced
from profiling.profiles import Aspect

__all__ = [
    "AspectTerms",
    "accepts",
    "aspect_terms",
    "clause_sentiment",
    "clauses",
    "declines",
    "farewell",
    "greets",
    "is_question",
    "item_referenced",
    "mentioned_aspects",
    "product_names",
    "recommends",
    "role_slips",
    "sentences",
    "stance",
    "unknown_product_names",
]

# -- sentences and clauses --------------------------------------------------------------------------
_SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|$)")
_CLAUSE = re.compile(r"[;:]|,\s*(?:and|but|though|although|however|while|whereas)\b|\b(?:but|though|although|"
                     r"however|whereas)\b")


def sentences(text: str) -> list[str]:
    """The text's sentences (split after runs of . ! ?), stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


# Openers that frame a clause without judging anything; VADER reads "honestly" and "fair" as praise.
_OPENER = re.compile(
    r"^(?:honestly|frankly|truthfully|to be (?:honest|fair|frank)|in fairness|well|so|ok(?:ay)?)\s*,?\s*",
    re.I)


def clauses(text: str) -> list[str]:
    """Sentences split at contrast words, ", and" and semicolons, openers dropped: one stance each."""
    out: list[str] = []
    for s in sentences(text):
        for part in _CLAUSE.split(s):
            part = _OPENER.sub("", part.strip(" ,"))
            if part:
                out.append(part)
    return out


# -- speech acts ------------------------------------------------------------------------------------
_QUESTION_START = re.compile(
    r"^(?:what|which|how|why|when|where|who|do|does|did|are|is|would|could|can|should|have|will|shall|"
    r"tell me|let me know|please (?:tell|share|describe))\b", re.I)
_OFFER = re.compile(
    r"\b(?:i(?:'d| would)? (?:recommend|suggest)|i recommend|my (?:top )?(?:pick|recommendation|suggestion)|"
    r"how about|what about|you (?:might|may|could|should) (?:like|love|enjoy|try|consider|go with|check out)|"
    r"(?:consider|try|check out) the|one option is|(?:a|my|the) (?:good|great|solid) (?:option|choice|fit) "
    r"(?:is|would be)|(?:fits|suits) you (?:well|best)|i think the .{1,60} (?:fits|suits|works))\b", re.I)
_ACCEPT = re.compile(
    r"\b(?:i(?:'ll| will| would like to|'d like to)? (?:take|buy|get|go with|order|choose|pick)|"
    r"(?:sounds|looks) (?:good|great|perfect)|that(?:'s| is) (?:the one|perfect|great)|deal|sold|"
    r"i(?:'m| am) (?:convinced|sold|happy with)|let'?s go with|yes,? (?:please|i will|i'll))\b", re.I)
_DECLINE = re.compile(
    r"\b(?:no,? thanks|no thank you|i(?:'ll| will) pass|pass on|not (?:for me|that one|interested|convinced)|"
    r"i (?:do not|don't) (?:think|want|like)|i(?:'d| would) rather not|not really|i(?:'m| am) not sure about|"
    r"doesn't (?:work|suit)|does not (?:work|suit)|skip|avoid|rather not|no,)", re.I)
_FAREWELL = re.compile(r"\b(?:bye|goodbye|good bye|farewell|take care|have a (?:nice|good|great) (?:day|one)|"
                       r"see you|thanks?|thank you|enjoy)\b", re.I)
_GREET = re.compile(r"\b(?:hi|hello|hey|welcome|good (?:morning|afternoon|evening)|greetings)\b|"
                    r"\bhow can i help\b|\bwhat (?:are you|can i help you)\b", re.I)


def is_question(text: str) -> bool:
    """Whether the text asks something: a question mark, or a sentence opening like a question."""
    return "?" in text or any(_QUESTION_START.match(s) for s in sentences(text))


def recommends(text: str) -> bool:
    """Whether the text proposes an item in so many words ("I recommend", "how about the", ...)."""
    return bool(_OFFER.search(text))


def accepts(text: str) -> bool:
    """Whether the text accepts an offer ("I'll take it", "sounds good", ...) and declines nothing."""
    return bool(_ACCEPT.search(text)) and not declines(text)


def declines(text: str) -> bool:
    """Whether the text turns an offer down ("I'll pass", "not for me", "no, ...")."""
    return bool(_DECLINE.search(text))


def farewell(text: str) -> bool:
    """Whether the text thanks or says goodbye."""
    return bool(_FAREWELL.search(text))


def greets(text: str) -> bool:
    """Whether the text greets or opens with an offer of help."""
    return bool(_GREET.search(text))


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\S+", text))


# -- role slips -------------------------------------------------------------------------------------
_ROLE_PREFIX = re.compile(
    r"^\s*\**\s*(?:system|assistant|user|customer|shopper|seller|agent|bot|ai)\s*\**\s*:", re.I | re.M)
_ASSISTANT_VOICE = re.compile(
    r"\b(?:as an? (?:ai|language model|assistant)|i(?:'m| am) an? (?:ai|assistant|language model|chatbot)|"
    r"how (?:can|may) i (?:help|assist) you|what can i help you (?:with|find)|i(?:'d| would) recommend|"
    r"i recommend|i suggest|let me (?:find|search|look up) (?:some|options|items) for you|"
    r"here are (?:some|a few) (?:options|recommendations))\b", re.I)
_USER_VOICE = re.compile(
    r"\b(?:i(?:'m| am) (?:looking|shopping) for (?:a|an|some|new)\b|i(?:'ll| will) (?:take|buy) (?:it|the)|"
    r"can you (?:recommend|suggest) (?:me )?(?:a|an|some|something))\b", re.I)


# Prompt markup: chat-template role tokens, Llama-2 tags, our quote tags (raw or escaped) and directive
# markers. Review text quoted into a prompt can carry them, and an agent that repeats review words (the
# scripted user's paraphrased evidence does) would put them in the dataset and, unquoted, in the other
# agent's transcript (issue #11): no shopper or assistant writes them.
_MARKUP = re.compile(r"<\|[\w-]{1,30}\|>|\[/?INST\]|<</?SYS>>|(?:<|&lt;)/?quote(?:>|&gt;)|<<<|>>>|"
                     r"CONVREC-DIRECTIVE", re.I)


def role_slips(text: str, speaker: str) -> list[str]:
    """Why the text does not read as ``speaker``'s own message (empty list when it does)."""
    found: list[str] = []
    if not text.strip():
        return ["the reply is empty"]
    m = _ROLE_PREFIX.search(text)
    if m:
        found.append(f"it carries a role prefix {m.group(0).strip()!r}")
    m = _MARKUP.search(text)
    if m:
        found.append(f"it contains prompt markup ({m.group(0)!r})")
    voice = _ASSISTANT_VOICE if speaker == "user" else _USER_VOICE
    m = voice.search(text)
    if m:
        other = "the assistant" if speaker == "user" else "the shopper"
        found.append(f"it speaks as {other} ({m.group(0)!r})")
    return found


# -- aspects ----------------------------------------------------------------------------------------
# Words that say nothing about which aspect a review talks of; an aspect table learnt from reviews
# picks some of them up as "phrases", and matching them would find aspects everywhere.
_GENERIC = _words("""
a an the and or of to in on for with at by from as is are was were be been it its this that these those
i me my we our you your they them their he she his her one ones thing things very really so too also just
use used uses using work works worked working first time times bought buy buying ordered order pair second
old new top love loved like liked hate mostly much many lot bit get got make made item product products
seems seem whatsoever turned update research friend bunch writing gift dad daughter wife husband son mom
recommended recommend overall quite well still even ever never always again back day days week weeks
last year years hour hours daily without nothing real level review reviews reviewer reviewers reading
buyer buyers
""")


@dataclass(frozen=True)
class AspectTerms:
    """The token sequences that name one aspect in text (stems, lower case); ``primary`` come from names."""

    aspect: int
    name: str
    terms: tuple[tuple[str, ...], ...]
    primary: tuple[tuple[str, ...], ...] = ()

    @property
    def label(self) -> str:
        """A short readable name: the first part of the aspect's name."""
        return self.name.split(" / ")[0].strip()


def _stem(token: str) -> str:
    # Plural and simple verb forms only: enough for "batteries"/"battery", "fits"/"fit".
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _lexicon() -> Mapping[str, float]:
    return _analyzer().lexicon  # the one analyser's lexicon (building an analyser reads the file)


_FUNCTION = frozenset(("a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "at", "by",
                       "from", "as", "is", "are", "it", "its", "this", "that", "i", "my", "you", "your"))


def _usable(tokens: tuple[str, ...], *, label: bool = False, bound: bool = False) -> bool:
    if bound:
        # A name the realizer was given: any of its parts is how it may refer to the aspect.
        return any(t not in _FUNCTION and (label or t not in _lexicon()) for t in tokens)
    content = [t for t in tokens if t not in _GENERIC]
    if not content:
        return False
    if len(tokens) == 1 and not label:
        t = tokens[0]
        # A sentiment word ("great", "solid") is how people judge an aspect, not what they judge.
        return len(t) >= 3 and not t.isdigit() and t not in _lexicon()
    return True


def _stems(text: str) -> tuple[str, ...]:
    return tuple(_stem(t) for t in normalise_tokens(text))


def aspect_terms(aspect: Aspect | None, *, aspect_id: int, names: Iterable[str] = ()) -> AspectTerms:
    """The usable terms of an aspect: the parts of its name and its phrases, plus any extra ``names``.

    An aspect whose every word is generic (a table learnt from reviews can name one "use / love /
    mostly") keeps its whole name and the first part of it as terms: that is how a realizer given
    the name refers to it, and without a term it could never be found.
    """
    name_parts: list[tuple[str, bool, bool]] = []
    for n, bound in [*((n, True) for n in names), *([(aspect.name, False)] if aspect is not None else [])]:
        # The first part is the aspect's label ("comfort / padding"): a term even when VADER's lexicon
        # holds it as a sentiment word, as it does "comfort".
        name_parts.extend((part, k == 0, bound) for k, part in enumerate(n.split("/")))
    phrases = list(aspect.phrases) if aspect is not None else []
    primary: list[tuple[str, ...]] = []
    for part, is_label, bound in name_parts:
        toks = _stems(part)
        if toks and _usable(toks, label=is_label, bound=bound) and toks not in primary:
            primary.append(toks)
    name = aspect.name if aspect is not None else next(iter(names), str(aspect_id))
    if not primary:
        for fallback in (_stems(name), _stems(name.split("/")[0])):
            if fallback and fallback not in primary:
                primary.append(fallback)
    terms = list(primary)
    for phrase in phrases:
        toks = _stems(phrase)
        if toks and _usable(toks) and toks not in terms:
            terms.append(toks)
    return AspectTerms(aspect=aspect_id, name=name, terms=tuple(terms), primary=tuple(primary))


def _cover(tokens: Sequence[str], terms: Iterable[tuple[str, ...]]) -> frozenset[int]:
    out: set[int] = set()
    for term in terms:
        n = len(term)
        for k in range(len(tokens) - n + 1):
            if tuple(tokens[k:k + n]) == term:
                out.update(range(k, k + n))
    return frozenset(out)


def mentioned_aspects(text: str, table: Iterable[AspectTerms], *, primary_only: bool = False) -> list[int]:
    """Ids of the aspects in ``table`` that ``text`` names by one of their terms.

    When the words that name one aspect are all part of a stronger mention of another (more of its
    name, or more words), only the stronger is kept: "marks / top / build" said in full is not also
    a mention of "build / quality" through the shared word "build". ``primary_only``: by name parts
    only, not by the phrases a table learnt (stronger evidence).
    """
    toks = [_stem(t) for t in normalise_tokens(text)]
    hits: list[tuple[int, frozenset[int], tuple[int, int]]] = []
    for a in table:
        cov = _cover(toks, a.primary if primary_only else a.terms)
        if cov:
            prim = _cover(toks, a.primary)
            hits.append((a.aspect, cov, (len(prim), len(cov))))
    return [a for a, cov, score in hits
            if not any(cov <= c2 and s2 > score for b, c2, s2 in hits if b != a)]


# -- sentiment --------------------------------------------------------------------------------------
_NO_TROUBLE = re.compile(r"\b(?:no|zero|never(?: had)?(?: any)?|not (?:a|one|any)|without(?: any)?)\s+"
                         r"(?:real |major |big )?(?:issues?|problems?|complaints?|troubles?|regrets?)\b",
                         re.I)
_ASIDE = re.compile(r"\([^)]*\)")
_REQUEST = re.compile(r"\b(?:please|want|need|looking for|prefer|hope|hoping|would like|must)\b", re.I)
_NEGATOR = re.compile(r"\b(?:no|not|without|avoid|never)\b|n't\b", re.I)


def clause_sentiment(clause: str, mask: Iterable[AspectTerms] = ()) -> float:
    """VADER compound of a clause with the aspect terms in ``mask`` taken out (they are not judgements)."""
    # Parenthetical asides ("(8 mentions)") carry no judgement, and VADER flips the sign of a clause
    # that ends in one (measured: "critical of its battery (8 mentions)" scores +0.32).
    # VADER scores "no" itself as negative and does not know "issues": "no issues" reads as a complaint.
    words = _NO_TROUBLE.sub(" good ", _ASIDE.sub(" ", clause)).split()
    masked_terms = [term for a in mask for term in a.terms]
    if masked_terms:
        keep: list[str] = []
        stems = [_stem(t) for w in words for t in (normalise_tokens(w) or [""])[:1]]
        k = 0
        while k < len(words):
            hit = next((len(t) for t in masked_terms if tuple(stems[k:k + len(t)]) == t), 0)
            if hit:
                k += hit
                continue
            keep.append(words[k])
            k += 1
        words = keep
    return float(_analyzer().polarity_scores(" ".join(words))["compound"])


def stance(clause: str, mask: Iterable[AspectTerms] = (), *, dead_zone: float = 0.25) -> int:
    """+1, -1 or 0: the clause's judgement of what it talks about (0 inside the dead zone).

    A request that rules out something bad ("no poor battery, please", "I want to avoid bad fit")
    voices a complaint, although VADER's negation rule scores it positive.
    """
    mask = list(mask)
    if _REQUEST.search(clause) and _NEGATOR.search(clause):
        lex = _lexicon()
        toks = normalise_tokens(clause)
        for k, t in enumerate(toks):
            negator = t in ("no", "not", "without", "avoid", "never") or t.endswith("n't")
            if negator and any(lex.get(w, 0.0) < -0.5 for w in toks[k + 1:k + 4]):
                return -1
    score = clause_sentiment(clause, mask)
    if score >= dead_zone:
        return 1
    if score <= -dead_zone:
        return -1
    return 0


# -- items and product names ------------------------------------------------------------------------
_NAME_TOKEN = r"(?:[A-Z][A-Za-z0-9'&+-]*|[A-Za-z]*\d[A-Za-z0-9-]*)"
_CAPITAL_RUN = re.compile(rf"\b{_NAME_TOKEN}(?:\s+{_NAME_TOKEN})+")
_QUOTED = re.compile(r"[\"“*]([A-Z][^\"”*\n]{2,60})[\"”*]")
# Capitalised words that start many sentences or name things that are not products.
_NOT_NAME = _words("""
the a an this that these those it its i i'm i'd i'll my our your you we they he she his her their hi hello
hey yes no ok okay great good sure thanks thank well so and but or if as also just how what which when
where who why do does did is are was were be can could would should will may might let here there
""")


def product_names(text: str) -> list[str]:
    """Product-like names: runs of two or more capitalised or model-number words, and quoted names.

    A run needs a model-number token (a digit) or two capitalised words that do not open a sentence;
    a leading article or sentence opener is dropped. Single capitalised words are never names here:
    too many ordinary words are capitalised (sentence openers, brands used as adjectives).
    """
    found: list[str] = []
    for m in _CAPITAL_RUN.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower().strip("'") in _NOT_NAME:
            words = words[1:]
        if len(words) < 2:
            continue
        start = m.start() + m.group(0).find(words[0])
        sentence_initial = start == 0 or bool(re.search(r"[.!?:]\s*[\"“*]?$", text[:start]))
        has_digit = any(any(ch.isdigit() for ch in w) for w in words)
        if has_digit or len(words) - (1 if sentence_initial else 0) >= 2:
            found.append(" ".join(words).strip(".,;:!?'\""))
    for m in _QUOTED.finditer(text):
        name = m.group(1).strip(" .,;:!?")
        if 1 <= len(name.split()) <= 6 and name not in found:
            found.append(name)
    return found


class _TitleIndex:
    """Token -> item ids over catalog titles: a name is known when all its tokens share one title."""

    def __init__(self, catalog: Catalog) -> None:
        self.by_token: dict[str, set[str]] = {}
        for iid in catalog.items:
            for t in {_stem(t) for t in normalise_tokens(f"{catalog.title(iid)} {iid}")}:
                self.by_token.setdefault(t, set()).add(iid)

    def known(self, name: str, vocabulary: frozenset[str]) -> bool:
        toks = [_stem(t) for t in normalise_tokens(name) if t not in _GENERIC and t not in _NOT_NAME]
        toks = [t for t in toks if t not in vocabulary]
        if not toks:
            return True  # nothing left to name a product: aspect words, categories, fillers
        ids: set[str] | None = None
        for t in toks:
            hit = self.by_token.get(t, set())
            ids = set(hit) if ids is None else ids & hit
            if not ids:
                return False
        return True


_INDEXES: dict[int, tuple[Catalog, _TitleIndex]] = {}


def _index(catalog: Catalog) -> _TitleIndex:
    # Keyed by id with the catalog kept alongside, so a recycled id never returns a stale index.
    entry = _INDEXES.get(id(catalog))
    if entry is None or entry[0] is not catalog:
        if len(_INDEXES) > 8:
            _INDEXES.clear()
        entry = (catalog, _TitleIndex(catalog))
        _INDEXES[id(catalog)] = entry
    return entry[1]


def unknown_product_names(text: str, catalog: Catalog, vocabulary: Iterable[str] = ()) -> list[str]:
    """Product-like names in ``text`` matching no catalog title (``vocabulary``: words that are no names)."""
    vocab = frozenset(_stem(t) for w in vocabulary for t in normalise_tokens(w))
    index = _index(catalog)
    return [n for n in product_names(text) if not index.known(n, vocab)]
