"""Everyday words for general product attributes: how people speak of price without the word "price".

An aspect learnt from reviews has terms ("price", "cost", "value"); a shopper or an assistant says
"pricey", "a bargain" or "I hate overpaying". When one of an aspect's own terms is the key of a family
below, the family's words also mention that aspect, loosely: enough to tell that a turn speaks of the
aspect the node asks for (a question, a reason, a critique), never to tell one aspect from another, so
they are read only where the node binds the aspect. The families are general English about attributes
that products of many kinds share, not the sample world's vocabulary; an aspect whose terms hit no key
(a domain-specific one) is found by its own terms only.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.catalog import normalise_tokens
from agents.validators.wordforms import roots

__all__ = ["attribute_words"]

# (keys: words of an aspect's own terms, words that mention it loosely)
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("price cost money value pricing",
     "expensive cheap affordable pricey overpriced budget bargain pay spend dollar buck deal worth splurge"),
    ("speed performance responsiveness processor",
     "fast slow quick quickly sluggish snappy laggy lag lagging zippy"),
    ("durability build construction longevity sturdiness",
     "durable sturdy flimsy solid break broke broken|fall apart|fell apart|hold up|held up|well made|"
     "cheaply made|last long|built to last"),
    ("comfort padding comfortable",
     "comfortable comfy uncomfortable cozy cosy stiff rub pinch chafe soothing|dig in"),
    ("fit size sizing",
     "snug tight loose narrow wide|true to size|run small|run large|runs small|runs large"),
    ("waterproofing waterproof water rain repellency",
     "waterproof rain wet dry soaked soggy leak leaky splash puddle downpour spill"),
    ("battery charge runtime",
     "battery charge charging unplugged|last all day|all day|per charge|single charge|hours of"),
    ("fragrance scent smell perfume",
     "smell scent scented unscented perfume perfumy fragrant fragrance-free"),
    ("flavor taste tasting",
     "taste tasty bitter sour burnt delicious bland flavorful"),
    ("display screen panel",
     "screen bright brightness dim resolution glare colors color sharp grainy"),
    ("bass sound audio",
     "sound audio punchy boomy thump|low end"),
    ("cleaning cleanup clean",
     "clean wash rinse scrub dishwasher descale descaling gunk"),
    ("organization layout storage pocket",
     "pocket pockets divider dividers compartment compartments organized organizer mess messy jumble "
     "tidy sleeve"),
    ("cushioning midsole cushion",
     "cushioned cushy plush bouncy springy"),
    ("hydration moisturizing moisture hydrated texture",
     "hydrating hydrate moisturize moisturizing moisture greasy sticky absorb|dry skin"),
    ("brewing", "brew brews"),
)


def _phrases(words: str) -> list[tuple[str, ...]]:
    # Words are separated by spaces; a "|" starts the multi-word phrases of a family.
    single, _, multi = words.partition("|")
    out = [roots(normalise_tokens(w)) for w in single.split()]
    out += [roots(normalise_tokens(p)) for p in multi.split("|") if p.strip()]
    return [p for p in out if p]


_INDEX: list[tuple[frozenset[str], tuple[tuple[str, ...], ...]]] = [
    (frozenset(roots(keys.split())), tuple(_phrases(words))) for keys, words in _FAMILIES
]


def attribute_words(term_roots: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    """The loose words (as root tuples) of every family one of ``term_roots`` is a key of."""
    have = set(term_roots)
    out: list[tuple[str, ...]] = []
    for keys, phrases in _INDEX:
        if keys & have:
            out.extend(p for p in phrases if p not in out)
    return tuple(out)
