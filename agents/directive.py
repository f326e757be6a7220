"""The machine-readable directive: what one agent turn must do, embedded in the last prompt message.

Every agent prompt ends with a block::

    <<<CONVREC-DIRECTIVE v1>>>
    {"role": "user", "node": "elicit", ...}
    <<<END-CONVREC-DIRECTIVE>>>

A real LLM reads the natural-language instructions around it (see agents.prompts); the scripted
backend (agents.scripted) parses it and writes the turn deterministically. The JSON carries the node,
this role's acts, exchange and attempt, the node's bindings with untrusted evidence scrubbed of names
the speaker must not say yet, persona knobs, this role's retry feedback and a seed string. Every
community fact carries the numbers proportionate phrasing needs: ``mentions``, ``positive``,
``negative`` and ``stance`` ("positive" | "negative" | "mixed", what the mentions support once their
number is accounted for).

The block is unambiguous: inside the JSON every ``<`` and ``>`` is written as ``\\u003c`` /
``\\u003e`` (still valid JSON, the same value), so review text can never contain a marker, and the
parser takes the LAST start marker of the message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.catalog import normalise_tokens
from agents.dialog import Feedback, NodeRequest, Speaker
from agents.personas import Persona, PersonaKnobs
from agents.search import SearchHit
from planners.nodes import NodeKind
from planners.plan import DialogPlan, NodeBinding
from profiling.errors import ConvRecError
from profiling.profiles import Aspect, Stance

__all__ = ["DIRECTIVE_END", "DIRECTIVE_START", "AspectNote", "Directive", "DirectiveError", "Hit",
           "build_directive", "directive_seed", "parse_directive", "render_directive", "speakable_name",
           "target_on_table"]

DIRECTIVE_VERSION = 1
DIRECTIVE_START = f"<<<CONVREC-DIRECTIVE v{DIRECTIVE_VERSION}>>>"
DIRECTIVE_END = "<<<END-CONVREC-DIRECTIVE>>>"

_Frozen = ConfigDict(frozen=True, extra="forbid")


class DirectiveError(ConvRecError):
    """Raised when a prompt holds no directive block, or its block is not a valid Directive."""


class AspectNote(BaseModel):
    """Community sentiment of one aspect of one item (e.g. what to praise a proposed alternative for)."""

    model_config = _Frozen

    name: str
    sentiment: float
    mentions: int
    trend: float
    evidence: tuple[str, ...] = ()
    positive: int = 0
    negative: int = 0
    stance: Stance = "mixed"


class Hit(BaseModel):
    """A catalog search hit as the prompt shows it."""

    model_config = _Frozen

    item: str
    title: str
    score: float
    aspects: tuple[tuple[str, float, int], ...]


class Directive(BaseModel):
    """Everything needed to write one turn of one role, with no access to anything else."""

    model_config = _Frozen

    version: Literal[1] = DIRECTIVE_VERSION
    role: Speaker
    node: NodeKind
    node_index: int
    state: str
    acts: tuple[str, ...] = Field(description="this role's acts in the node")
    opens: bool = Field(description="this role speaks first in each exchange of the node")
    exchange: int
    attempt: int
    final_exchange: bool
    min_turns: int
    max_turns: int
    category: str = Field(description="what kind of item the user is shopping for")
    binding: NodeBinding = Field(description="the node's slots, evidence scrubbed of names not to say yet")
    revealed_before: tuple[str, ...] = Field((), description="aspect names revealed in earlier nodes")
    declined_before: tuple[str, ...] = Field(
        (), description="titles of the alternatives the user declined in earlier nodes, in order")
    aliases: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="other words for the node's aspects (by aspect name), each naming "
        "only its own aspect as the validators read text")
    target_on_table: bool = Field(description="the target has been recommended and not displaced since")
    alternative_praise: AspectNote | None = Field(
        None, description="recommend_alternative: what buyers praise the proposed item for, if anything")
    search: tuple[Hit, ...] = Field((), description="system: catalog search results for what the user said")
    persona: str
    knobs: PersonaKnobs
    feedback: tuple[Feedback, ...] = Field((), description="why this role's last attempt at this node failed")
    seed: str = Field(description="hex digest seeding the realizer: dialog, node, attempt, exchange, role")


@lru_cache(maxsize=1)
def _valence() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return dict(SentimentIntensityAnalyzer().lexicon)


@lru_cache(maxsize=4096)
def speakable_name(name: str) -> str:
    """An aspect name as a person would say it: discovered names look like ``fragrance / scent / smell``.

    The first of the " / "-separated phrases that carries no sentiment of its own (stage 1 sometimes
    names an aspect after an opinion word such as "impressed"); the first phrase when all do.
    """
    parts = [p.strip() for p in name.split("/") if p.strip()]
    if len(parts) <= 1:
        return name.strip()
    lex = _valence()
    for part in parts:
        if not any(w in lex for w in part.lower().split()):
            return part
    return parts[0]


def directive_seed(plan: DialogPlan, node_index: int, attempt: int, exchange: int, role: Speaker) -> str:
    """The realizer's seed: equal (run seed, seed key, node, attempt, exchange, role), equal text."""
    key = f"{plan.run_seed}|{plan.seed_key}|{node_index}|{attempt}|{exchange}|{role}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def target_on_table(plan: DialogPlan, node_index: int) -> bool:
    """Whether the target was recommended before node ``node_index`` and no alternative displaced it."""
    on = False
    for node in plan.nodes[:node_index]:
        if node.type == "recommend_target":
            on = True
        elif node.type == "recommend_alternative":
            on = False
    return on


_ARTICLES = frozenset({"the", "a", "an", "of", "and"})


def _aspect_terms(aspect: Aspect | None) -> list[list[str]]:
    if aspect is None:
        return []
    terms = []
    for text in (*aspect.name.split("/"), *aspect.phrases):
        toks = [t for t in normalise_tokens(text) if t not in _ARTICLES]
        if toks:
            terms.append(toks)
    return terms


def _scrub(value: Any, banned: list[list[str]], aspects: Mapping[int, Aspect], ids: set[int]) -> Any:
    """Keep the evidence sentences that are visibly about their fact's aspect and name no banned title.

    Stage 1 assigns sentences to aspects by clustering, so a user's "evidence" on one aspect can be a
    sentence about another; quoting it would state a preference the plan did not bind. And a review
    may name the hidden target. A dropped quote's sentence id goes with it. Every ``"aspect": <id>``
    met on the way is added to ``ids`` (the aspects the binding refers to).
    """
    if isinstance(value, dict):
        aspect = value.get("aspect")
        terms = None
        if isinstance(aspect, int):
            ids.add(aspect)
            terms = _aspect_terms(aspects.get(aspect))
        quotes = isinstance(value.get("evidence"), list)  # a target's "evidence" is a label, not quotes
        skip = ("evidence", "evidence_ids") if quotes else ()
        out = {k: _scrub(v, banned, aspects, ids) for k, v in value.items() if k not in skip}
        if quotes:
            ev_ids = value.get("evidence_ids") or [None] * len(value["evidence"])
            kept = [(s, i) for s, i in zip(value["evidence"], ev_ids, strict=False)
                    if not _names_any(s, banned) and (terms is None or _names_any(s, terms))]
            out["evidence"] = [s for s, _ in kept]
            if "evidence_ids" in value:
                out["evidence_ids"] = [i for _, i in kept if i is not None]
        return out
    if isinstance(value, list):
        return [_scrub(v, banned, aspects, ids) for v in value]
    return value


def _names_any(text: str, banned: list[list[str]]) -> bool:
    toks = normalise_tokens(text)
    return any(
        b and any(toks[i:i + len(b)] == b for i in range(len(toks) - len(b) + 1)) for b in banned
    )


def _category(request: NodeRequest) -> str:
    raw = next((n.need for n in request.plan.nodes if n.need), None) or request.context.target.category
    # Metadata capitalises categories ("Running Shoes"); a shopper says "running shoes".
    return " ".join(w if w.isupper() else w.lower() for w in raw.split()) if raw else "products"


_ADJECTIVE_ENDINGS = ("able", "ible", "ive", "ful", "ous", "ed")


def _alias_ok(phrase: str) -> bool:
    """A phrase that can stand for its aspect in a sentence: a noun phrase, not a lone adjective
    ("comfy", "effective") nor a word too short or vague to carry the aspect ("box", "level")."""
    words = phrase.split()
    if len(words) > 1:
        return True
    w = phrase.lower()
    if len(w) < 5 or w.endswith(_ADJECTIVE_ENDINGS) or w in _valence():
        return False
    return not (w.endswith("y") and not w.endswith(("ity", "ery", "ory")))


@lru_cache(maxsize=64)
def _alias_table(key: tuple[tuple[int, str, tuple[str, ...]], ...]) -> dict[int, tuple[str, ...]]:
    """Per aspect id of an aspect table (given as (id, name, phrases)), its usable aliases."""
    from agents.validators.signals import aspect_terms, mentioned_aspects

    aspects = {i: Aspect(id=i, name=name, phrases=phrases) for i, name, phrases in key}
    table = [aspect_terms(a, aspect_id=i) for i, a in aspects.items()]
    out: dict[int, tuple[str, ...]] = {}
    for i, aspect in aspects.items():
        name = speakable_name(aspect.name).lower()
        found = [p for p in dict.fromkeys(x.strip() for x in aspect.phrases)
                 if p and p.lower() != name and _alias_ok(p) and mentioned_aspects(p, table) == [i]]
        if found:
            out[i] = tuple(found)
    return out


def _aliases(request: NodeRequest, ids: set[int]) -> dict[str, tuple[str, ...]]:
    """Other words for the aspects ``ids``: their phrases that, read as the validators read text, name
    that aspect and no other (so a realizer may vary how it says an aspect without changing which)."""
    aspects = request.context.aspects
    table = _alias_table(tuple((i, a.name, tuple(a.phrases)) for i, a in sorted(aspects.items())))
    return {aspects[i].name: table[i] for i in sorted(ids) if i in table and i in aspects}


def _praise(binding: NodeBinding) -> AspectNote | None:
    neg = binding.negative
    if neg is None or neg.praise is None:
        return None
    p = neg.praise
    return AspectNote(name=p.name, sentiment=p.sentiment, mentions=p.mentions, trend=p.trend,
                      evidence=p.evidence, positive=p.positive, negative=p.negative, stance=p.stance)


def build_directive(
    request: NodeRequest,
    role: Speaker,
    persona: Persona,
    search: tuple[SearchHit, ...] | list[SearchHit] = (),
    *,
    memo: dict[Any, Any] | None = None,
) -> Directive:
    """The directive of ``role``'s next turn for ``request``.

    Evidence naming the target is dropped while the target is not on the table (the user must not
    name it before it is recommended, the system must not recommend it early), and so is evidence
    that does not mention its aspect by name or top phrase.

    ``memo``: a dict the caller keeps for one dialog (both agents may share it); what a node gives
    every turn of it (binding, aliases, what was revealed and declined before) is then worked out once
    per node and role, its scrubbed binding once per node.
    """
    node = request.node
    key = ("directive", role, id(node))
    cached = memo.get(key) if memo is not None else None
    if cached is not None and cached[0] is node and cached[1] is request.plan:
        fixed = cached[2]
    else:
        fixed = _node_fields(request, role, memo)
        if memo is not None:  # kept with the node and plan: their ids are not reused meanwhile
            memo[key] = (node, request.plan, fixed)
    return Directive(
        **fixed,
        exchange=request.exchange,
        attempt=request.attempt,
        final_exchange=request.final_exchange,
        search=tuple(Hit(item=h.item, title=h.title, score=h.score, aspects=h.aspects) for h in search),
        persona=persona.name,
        knobs=persona.knobs,
        feedback=tuple(f for f in request.feedback if f.role in (role, None)),
        seed=directive_seed(request.plan, node.index, request.attempt, request.exchange, role),
    )


def _node_fields(request: NodeRequest, role: Speaker, memo: dict[Any, Any] | None) -> dict[str, Any]:
    """The directive's fields that depend on the node, the plan and the role only, not on the turn.

    The scrubbed binding is the same for both roles wherever the target's title is banned for both
    (everywhere but the user's side of recommend_target): with a memo both agents share, once per node.
    """
    node = request.node
    plan = request.plan
    on_table = target_on_table(plan, node.index) or (node.type == "recommend_target" and role == "user")
    banned: list[list[str]] = []
    if not on_table and node.type != "recommend_target":
        title = request.context.target.title or request.context.target.item
        banned = [normalise_tokens(title), normalise_tokens(request.context.target.item)]
    key = ("scrubbed", id(node), bool(banned))
    cached = memo.get(key) if memo is not None else None
    if cached is not None and cached[0] is node:
        binding, ids = cached[1], set(cached[2])
    else:
        ids = set()
        binding = NodeBinding.model_validate(_scrub(node.model_dump(mode="json"), banned,
                                                    request.context.aspects, ids))
        if memo is not None:  # kept with the node: its id is not reused meanwhile
            memo[key] = (node, binding, frozenset(ids))
    praise = _praise(binding) if role == "system" else None
    if praise is not None:
        ids |= {a.id for a in request.context.aspects.values() if a.name == praise.name}
    revealed: list[str] = []
    declined: list[str] = []
    for earlier in plan.nodes[: node.index]:
        if earlier.negative is not None and earlier.negative.title not in declined:
            declined.append(earlier.negative.title)
        names = [f.name for f in earlier.reveals]
        for slot in (earlier.clarification, earlier.negative, earlier.critique):
            if slot is not None:
                names.append(slot.user.name)
        revealed.extend(n for n in names if n not in revealed)
    return {
        "role": role,
        "node": node.type,
        "node_index": node.index,
        "state": node.state,
        "acts": node.user_acts if role == "user" else node.system_acts,
        "opens": node.opener == role,
        "min_turns": node.min_turns,
        "max_turns": node.max_turns,
        "category": _category(request),
        "binding": binding,
        "revealed_before": tuple(revealed),
        "declined_before": tuple(declined),
        "target_on_table": on_table,
        "aliases": _aliases(request, ids),
        "alternative_praise": praise,
    }


def render_directive(directive: Directive) -> str:
    """The directive between its markers; angle brackets inside are JSON-escaped so no marker can appear."""
    body = directive.model_dump_json().replace("<", "\\u003c").replace(">", "\\u003e")
    return f"{DIRECTIVE_START}\n{body}\n{DIRECTIVE_END}"


def parse_directive(text: str) -> Directive:
    """The directive of the last block in ``text``; DirectiveError when there is none or it is invalid."""
    start = text.rfind(DIRECTIVE_START)
    if start < 0:
        raise DirectiveError("no directive block in the prompt's last message")
    body_start = start + len(DIRECTIVE_START)
    end = text.find(DIRECTIVE_END, body_start)
    if end < 0:
        raise DirectiveError("directive block has no end marker")
    try:
        return Directive.model_validate(orjson.loads(text[body_start:end]))
    except orjson.JSONDecodeError as exc:
        raise DirectiveError(f"directive block is not JSON: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise DirectiveError(f"directive block is invalid at {loc!r}: {err['msg']}") from None
