"""Result tables that state their protocol: split, full ranking or sampled candidates, seeds, chance level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rich.table import Table

from recommender.metrics import METRICS, chance_levels

__all__ = ["mean_std", "protocol_note", "results_tables"]


def mean_std(runs: Sequence[Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    """Per metric: mean and sample standard deviation over runs (0 for a single run)."""
    out = {}
    for m in METRICS:
        v = np.array([r[m] for r in runs], dtype=np.float64)
        out[m] = (float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)
    return out


def _cell(mean: float, std: float, n: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if n > 1 else f"{mean:.4f}"


def protocol_note(
    n_items: int, n_test: int, n_candidates: int, seeds: Sequence[int], split: str = "test"
) -> str:
    """One line stating the protocol of the tables that follow it."""
    return (
        f"{split} split (chronological by target time): {n_test:,} accepted dialogs · full ranking over "
        f"{n_items:,} items (primary) · sampled: target + {n_candidates - 1} uniformly drawn items "
        f"({n_candidates} candidates) · mean ± std over {len(seeds)} seed(s) {list(seeds)}"
    )


def results_tables(
    runs: Mapping[str, Sequence[Mapping[str, Mapping[str, float]]]], *, n_items: int, n_candidates: int
) -> list[Table]:
    """Two tables (full ranking, then sampled, each with a chance row); ``runs[model]``: one dict per seed."""
    tables = []
    for protocol, title in (
        ("full", f"full ranking over all {n_items:,} items (primary)"),
        ("sampled", f"sampled: target + {n_candidates - 1} uniform items ({n_candidates} candidates)"),
    ):
        t = Table(title=title)
        t.add_column("model")
        t.add_column("seeds", justify="right")
        for m in METRICS:
            t.add_column(m, justify="right")
        for name, per_seed in runs.items():
            stats = mean_std([r[protocol] for r in per_seed])
            t.add_row(name, str(len(per_seed)), *(_cell(*stats[m], len(per_seed)) for m in METRICS))
        chance = chance_levels(n_items if protocol == "full" else n_candidates)
        t.add_row("[dim]random (chance)[/dim]", "", *(f"[dim]{chance[m]:.4f}[/dim]" for m in METRICS))
        tables.append(t)
    return tables
