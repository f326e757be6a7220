"""The system agent's catalog search: items ranked by how community sentiment matches what the user wants.

What the user wants is (a) the aspects the plan has had them reveal in earlier nodes (revealed
preferences, clarifications, decline reasons, critiques), weighted by their profile's |weight|, and
(b) aspects whose name or top phrases appear in the user's own turns so far (weight 0.5, so a real
LLM's wording counts even when it strays from the plan). An item scores
``sum_a want_a * sentiment(item, a) * min(1, mentions(item, a) / 5)``: praise on a wanted aspect
lifts it, complaints sink it, and thin evidence counts for less.

The search runs in code and its hits are written into the system agent's prompt rather than exposed
as a tool: our backends reject tool calls (see agents.backends.base), and neither SmolLM2-135M nor the
scripted realizer can drive a tool loop. A capable model could get the same function as an autogen
FunctionTool later. Items searched: the seed's target and negatives (their profiles are in the
PlanContext) and, when a :class:`ProfileSource` and item ids are given, those items as of the seed's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from agents.catalog import normalise_tokens
from agents.dialog import NodeRequest
from profiling.profiles import Aspect, CatalogEntry, ItemProfile, ProfileSource

__all__ = ["SearchHit", "rank_items", "search_catalog", "wanted_aspects"]

_PHRASE_WEIGHT = 0.5
_FULL_EVIDENCE_MENTIONS = 5.0


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked item: its score and the wanted aspects behind it as (name, sentiment, mentions)."""

    item: str
    title: str
    score: float
    aspects: tuple[tuple[str, float, int], ...]


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    if n == 0 or phrase[0] not in tokens:  # most phrases miss at their first word: no window built
        return False
    phrase = tuple(phrase)
    return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))


def _phrase_tokens(aspect: Aspect) -> tuple[tuple[str, ...], ...]:
    return _phrases(aspect.name, tuple(aspect.phrases))


@lru_cache(maxsize=4096)
def _phrases(name: str, phrases: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    # Once per aspect, not per search. Leading articles carry no meaning and would make "the price"
    # miss "price".
    out = []
    for text in (name, *phrases):
        toks = tuple(t for t in normalise_tokens(text) if t not in {"the", "a", "an"})
        if toks:
            out.append(toks)
    return tuple(out)


def wanted_aspects(request: NodeRequest) -> dict[int, float]:
    """Aspect id -> how much the user wants it to be good, from earlier nodes and the user's turns."""
    want: dict[int, float] = {}

    def add(aspect: int, weight: float) -> None:
        want[aspect] = max(want.get(aspect, 0.0), weight)

    for node in request.plan.nodes[: request.node.index]:
        for fact in node.reveals:
            add(fact.aspect, abs(fact.weight))
        if node.clarification is not None:
            add(node.clarification.user.aspect, abs(node.clarification.user.weight))
        if node.negative is not None:
            add(node.negative.user.aspect, abs(node.negative.user.weight))
        if node.critique is not None:
            add(node.critique.user.aspect, abs(node.critique.user.weight))
    user_tokens = [normalise_tokens(t.text) for t in request.transcript if t.speaker == "user"]
    if user_tokens:
        for aid, aspect in request.context.aspects.items():
            if aid in want:
                continue
            phrases = _phrase_tokens(aspect)
            if any(_contains(toks, p) for toks in user_tokens for p in phrases):
                add(aid, _PHRASE_WEIGHT)
    return want


def rank_items(
    want: Mapping[int, float],
    profiles: Iterable[ItemProfile | CatalogEntry],
    aspects: Mapping[int, Aspect],
    *,
    exclude: Iterable[str] = (),
    k: int = 3,
) -> list[SearchHit]:
    """The ``k`` best items for ``want`` (ties broken by item id, so the order is deterministic)."""
    skip = set(exclude)
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for prof in profiles:
        if prof.item in skip or prof.item in seen:
            continue
        seen.add(prof.item)
        entry = CatalogEntry.of(prof) if isinstance(prof, ItemProfile) else prof
        score = 0.0
        matched: list[tuple[str, float, int]] = []
        for aspect, sentiment, mentions in entry.aspects:
            w = want.get(aspect)
            if w is None or mentions == 0:
                continue
            score += w * sentiment * min(1.0, mentions / _FULL_EVIDENCE_MENTIONS)
            name = aspects[aspect].name if aspect in aspects else str(aspect)
            matched.append((name, round(sentiment, 3), mentions))
        hits.append(SearchHit(entry.item, entry.title or entry.item, round(score, 6), tuple(matched)))
    hits.sort(key=lambda h: (-h.score, h.item))
    return hits[:k]


def search_catalog(
    request: NodeRequest,
    *,
    source: ProfileSource | None = None,
    items: Sequence[str] = (),
    k: int = 3,
    catalog: Sequence[CatalogEntry] | None = None,
) -> list[SearchHit]:
    """The best ``k`` items for what the user said so far; alternatives already declined are left out.

    ``catalog``: the entries of ``items`` at the seed's time, when the caller already has them (they
    do not change within a dialog, and computing them is most of a search's cost).
    """
    ctx = request.context
    profiles: list[ItemProfile | CatalogEntry] = [ctx.target, *ctx.negatives]
    if catalog is not None:
        profiles.extend(catalog)
    elif source is not None:
        profiles.extend(source.catalog_view(items, ctx.seed.target.timestamp))
    declined = {n.negative.item for n in request.plan.nodes[: request.node.index] if n.negative is not None}
    return rank_items(wanted_aspects(request), profiles, ctx.aspects, exclude=declined, k=k)
