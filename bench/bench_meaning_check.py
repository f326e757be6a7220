"""Calibrate and measure the polish mode's meaning check on hand-labelled SmolLM2 rewrites.

Reads tests/data/polish_rewrites.jsonl (rewrites written by bench/polish_samples.py), its
``_world.json`` (aspect table, catalog titles) and tests/data/polish_labels.jsonl (each rewrite read
and labelled by hand: keeps / drifts / unchanged; tests/data/polish_labels.md says how). Prints the
machine, then for the check as shipped (agents.meaning: rules, then the fast encoder's similarity at
MEANING_THRESHOLD): the share of drifted rewrites it accepts (aim <= 5%) and of faithful ones it
rejects (aim <= 20%), the rules' own figures, a sweep of the similarity threshold, and which rules
refuse faithful rewrites. Unchanged copies are no rewrite: the check refuses them by rule, and they
count in neither share. Run from the repository root:
    .venv/bin/python bench/bench_meaning_check.py [--sweep 0.5 0.95 0.05]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import Counter
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.catalog import Catalog
from agents.meaning import MEANING_THRESHOLD, MeaningCheck, MeaningReference, encoder_similarity
from agents.validators.signals import aspect_terms
from profiling.corpus import Item
from profiling.encoders import get_encoder
from profiling.profiles import Aspect

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def load_labelled(data: Path = DATA) -> list[dict[str, object]]:
    """The rewrites with their hand labels (``label``: keeps, drifts or unchanged) and references."""
    rewrites = [orjson.loads(x) for x in (data / "polish_rewrites.jsonl").read_bytes().splitlines() if x]
    lines = (data / "polish_labels.jsonl").read_bytes().splitlines()
    labels = {x["id"]: x for x in (orjson.loads(y) for y in lines if y)}
    world = orjson.loads((data / "polish_rewrites_world.json").read_bytes())
    table = [aspect_terms(Aspect(id=a["id"], name=a["name"], phrases=tuple(a["phrases"])), aspect_id=a["id"])
             for a in world["aspects"]]
    catalog = Catalog({t: Item(id=t, title=t) for t in world["titles"]})
    out = []
    for r in rewrites:
        lab = labels.get(r["id"])
        if lab is None:
            raise SystemExit(f"rewrite {r['id']} has no label in polish_labels.jsonl")
        ref = MeaningReference(speaker=r["speaker"], table=table, catalog=catalog, titles=tuple(r["titles"]))
        out.append({**r, "label": lab["label"], "ref": ref})
    return out


def judge(rows: list[dict[str, object]], check: MeaningCheck) -> list[tuple[str, list[str], float]]:
    """Per row: its label, the rules' reasons (a cut-off answer is refused first) and the similarity."""
    out = []
    for r in rows:
        draft, rewrite = str(r["draft"]), str(r["rewrite"])
        reasons = (["the rewrite was cut off at its length limit"] if r["finish"] == "length"
                   else check.rule_reasons(draft, rewrite, r["ref"]))  # type: ignore[arg-type]
        out.append((str(r["label"]), reasons, check.score(draft, rewrite) or 0.0))
    return out


def rates(judged: list[tuple[str, list[str], float]], threshold: float) -> tuple[float, float, int, int]:
    """(share of drifted accepted, share of faithful rejected, drifted, faithful) at ``threshold``."""
    drift = [(rs, s) for lab, rs, s in judged if lab == "drifts"]
    keep = [(rs, s) for lab, rs, s in judged if lab == "keeps"]
    acc_drift = sum(1 for rs, s in drift if not rs and s >= threshold)
    rej_keep = sum(1 for rs, s in keep if rs or s < threshold)
    return acc_drift / max(len(drift), 1), rej_keep / max(len(keep), 1), len(drift), len(keep)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", type=float, nargs=3, default=(0.5, 0.95, 0.05), metavar=("FROM", "TO", "STEP"))
    p.add_argument("--show", action="store_true", help="print each rewrite the shipped check gets wrong")
    args = p.parse_args(argv)
    rows = load_labelled()
    check = MeaningCheck(encoder_similarity(get_encoder("fast", cache=False).encode))
    judged = judge(rows, check)
    labels = Counter(lab for lab, _, _ in judged)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    print(f"labelled rewrites: {len(judged)} ({', '.join(f'{k} {v}' for k, v in sorted(labels.items()))})")
    a, r, nd, nk = rates(judged, MEANING_THRESHOLD)
    print(f"shipped check (rules + similarity >= {MEANING_THRESHOLD:.2f}): accepts {a:.1%} of {nd} drifted "
          f"(aim <= 5%), rejects {r:.1%} of {nk} faithful (aim <= 20%)")
    a0, r0, _, _ = rates(judged, -1.0)
    print(f"rules alone: accepts {a0:.1%} of drifted, rejects {r0:.1%} of faithful")
    print("threshold sweep (rules + similarity): threshold, drifted accepted, faithful rejected")
    t = args.sweep[0]
    while t <= args.sweep[1] + 1e-9:
        a, r, _, _ = rates(judged, t)
        print(f"  {t:.2f}  {a:6.1%}  {r:6.1%}")
        t += args.sweep[2]
    refused = Counter(reason.split("'")[0].split("(")[0].strip() for lab, rs, _ in judged if lab == "keeps"
                      for reason in rs)
    print("rules refusing faithful rewrites: " + (", ".join(f"{k} ({v})" for k, v in refused.most_common())
                                                  or "none"))
    passed = Counter(lab for lab, rs, s in judged if not rs and s >= MEANING_THRESHOLD)
    print(f"accepted by the shipped check: {dict(passed)}")
    if args.show:
        for row, (lab, rs, s) in zip(rows, judged, strict=True):
            accepted = not rs and s >= MEANING_THRESHOLD
            if (lab == "drifts" and accepted) or (lab == "keeps" and not accepted):
                verdict = "; ".join(rs) or ("accepted" if accepted else "similarity below the threshold")
                print(f"{row['id']} labelled {lab}, similarity {s:.2f}: {verdict}\n"
                      f"  draft:   {row['draft']}\n  rewrite: {row['rewrite']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
