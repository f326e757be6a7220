"""A small synthetic dataset in the ``dialogs.jsonl`` shape, where the answer needs history AND dialog.

For tests and smoke runs, not for figures. Each user has a favourite category, which their history
shows (most history items are of it) but the dialog never says; the dialog says which aspect the user
cares about, which the history never shows. The target is the item of (favourite category, stated
aspect), so a history-only model can at best find the category, a dialog-only model at best the
aspect, and a model reading both can find the item. Dialogs follow the engine's node names, including
a ``recommend_target`` node that names the target (which the recommender must never read).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

__all__ = ["ASPECTS", "CATEGORIES", "make_records"]

CATEGORIES = ("headphones", "kettle", "backpack", "lamp")
ASPECTS = ("battery", "comfort", "price", "sound", "weight")
_BRANDS = ("Acme", "Borealis", "Cobalt", "Dynamo", "Ember")


def _item(cat: int, asp: int) -> tuple[str, str]:
    return f"I{cat}{asp}", f"{_BRANDS[asp]} {CATEGORIES[cat].title()} Model {cat}{asp}"


def _turn(speaker: str, text: str, node: str, k: int) -> dict[str, Any]:
    return {"speaker": speaker, "text": text, "node": node, "node_index": k, "attempt": 1}


def make_records(
    n: int = 600,
    *,
    users: int = 30,
    seed: int = 0,
    failed_rate: float = 0.1,
    splits: tuple[float, float] = (0.7, 0.85),
) -> list[dict[str, Any]]:
    """``n`` dataset lines in target-time order; ``split`` cut at the ``splits`` fractions of time."""
    rng = random.Random(seed)
    favourite = [rng.randrange(len(CATEGORIES)) for _ in range(users)]
    start = datetime(2022, 1, 1)
    out = []
    for k in range(n):
        u = rng.randrange(users)
        cat, asp = favourite[u], rng.randrange(len(ASPECTS))
        hist = []
        for j in range(rng.randint(3, 8)):
            hc = cat if rng.random() < 0.8 else rng.randrange(len(CATEGORIES))
            item, title = _item(hc, rng.randrange(len(ASPECTS)))
            hist.append(
                {
                    "item": item,
                    "title": title,
                    "rating": 4.0,
                    "date": (start + timedelta(days=k, hours=j)).isoformat(),
                }
            )
        t_item, t_title = _item(cat, asp)
        # The declined item's category is drawn uniformly: naming it says nothing about the favourite.
        n_item, n_title = _item(
            rng.randrange(len(CATEGORIES)), (asp + 1 + rng.randrange(len(ASPECTS) - 1)) % len(ASPECTS)
        )
        a = ASPECTS[asp]
        turns = [
            _turn("user", "Hi! I am shopping for something new.", "greet", 0),
            _turn("system", "Hello, how can I help you today?", "greet", 0),
            _turn(
                "user", rng.choice((f"Great {a} is a must for me.", f"I care a lot about {a}.")), "elicit", 1
            ),
            _turn("system", "Anything else that is important to you?", "elicit", 1),
            _turn("system", f"How about the {n_title}?", "recommend_alternative", 2),
            _turn("user", f"Thanks, but I will pass on the {n_title}.", "recommend_alternative", 2),
            _turn("system", f"I would recommend the {t_title}.", "recommend_target", 3),
            _turn("user", f"Great, I will take the {t_title}.", "accept", 4),
            _turn("system", "Happy to help. Goodbye!", "close", 5),
        ]
        frac = k / max(1, n - 1)
        out.append(
            {
                "dialog_id": f"d{k:05d}",
                "status": "failed_fidelity" if rng.random() < failed_rate else "accepted",
                "reason": None,
                "user_id": f"u{u}",
                "split": "train" if frac <= splits[0] else "validation" if frac <= splits[1] else "test",
                "history": hist,
                "target": {
                    "item": t_item,
                    "title": t_title,
                    "rating": 5.0,
                    "date": (start + timedelta(days=k, hours=12)).isoformat(),
                },
                "negatives": [{"item": n_item, "title": n_title, "source": "same_category"}],
                "plan": {
                    "hash": "synthetic",
                    "path": [
                        "greet",
                        "elicit",
                        "recommend_alternative",
                        "recommend_target",
                        "accept",
                        "close",
                    ],
                    "replanned": False,
                },
                "turns": turns,
                "backend": "synthetic",
                "run_seed": seed,
            }
        )
    return out
