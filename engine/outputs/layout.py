"""How one dialog is laid out in each export format, and how each layout reads back to the dataset line.

Release layout (JSONL): the MobileConvRec / ConvRecStudio release keys, as their public training
scripts read them: ``user_id``; ``user_previous_interactions`` (a list of ``{<d>_name, ...}``);
``recommended_<d>`` (``{<d>_name, ...}``); ``turns`` as a list of one-speaker objects
``{"COMPUTER": text}`` or ``{"HUMAN": text}``. ``<d>`` is the domain word of the release (``app`` for
MobileRec, ``place`` for Yelp, ``product`` for Amazon and the sample world, ``book``, ``item``). Each
interaction also carries ``<d>_id``, ``date`` and ``rating``; negatives are
``negative_recommended_<d>s``; each turn carries ``is_recommendation`` and our fields (``super_node``,
``node_index``, ``attempt``, ``recommended_item``, ``is_acceptance``, and ``grounding``: the facts it
was asked to express with their stage-1 sentence ids, :mod:`engine.core.provenance`); the dialog
carries ``accepted`` and our fields (plan, ``declines``: the alternatives turned down and whether the
user really rated them low, ``judge``: the judge's scores or null, verdicts, counts, personas, backend,
run). Every turn says who realized it (``realizer``: model, draft or scripted; polish mode adds the
``draft`` it was made from) and every dialog counts its turns by realizer.

Every layout is lossless for the dataset line (:func:`engine.core.records.dialog_record`): the
``record_from_*`` functions give it back key for key, which is what the round-trip tests check.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from engine.core.provenance import DECLINE_KEYS, GROUNDING_KEYS
from engine.outputs.realizers import realizer_counts, turn_extras
from engine.store.reader import DialogData, RunData
from profiling.errors import ConvRecError

__all__ = [
    "DIALOG_SCHEMA",
    "DOMAIN_BY_DATA",
    "RECOMMEND_NODES",
    "TURN_SCHEMA",
    "ExportError",
    "chat_messages",
    "dialog_row",
    "realizer_counts",
    "record_from_parquet",
    "record_from_release",
    "release_line",
    "turn_rows",
    "verdict_summary",
]

# The domain word the release uses for each kind of source data.
DOMAIN_BY_DATA = {
    "mobilerec": "app",
    "yelp": "place",
    "amazon2023": "product",
    "amazon2018": "product",
    "sample": "product",
}
RECOMMEND_NODES = ("recommend_alternative", "recommend_target")
_SPEAKER_KEY = {"system": "COMPUTER", "user": "HUMAN"}
_KEY_SPEAKER = {v: k for k, v in _SPEAKER_KEY.items()}


class ExportError(ConvRecError):
    """Raised when a run cannot be exported: an unwritable folder, or a dataset line its plan contradicts."""


_RECORD_KEYS = (
    "dialog_id",
    "status",
    "reason",
    "user_id",
    "split",
    "history",
    "target",
    "negatives",
    "plan",
    "turns",
    "declines",
    "judge",
    "n_attempts",
    "n_rollbacks",
    "n_llm_calls",
    "backend",
    "user_persona",
    "system_persona",
    "run_seed",
)


def _recommended_item(d: DialogData, turn: dict[str, Any]) -> str | None:
    """The item a system turn proposes (the node's negative or the target), None for any other turn."""
    if turn["speaker"] != "system" or turn["node"] not in RECOMMEND_NODES:
        return None
    k = turn["node_index"]
    node = d.plan.nodes[k] if 0 <= k < len(d.plan.nodes) else None
    if node is None or node.type != turn["node"]:
        # The record and its final plan disagree: say so rather than guess an item.
        raise ExportError(
            f"dialog {d.dialog_id}: turn at node {k} ({turn['node']}) does not match plan "
            f"{d.plan.content_hash}"
        )
    if node.negative is not None:
        return node.negative.item
    if node.target is not None:
        return node.target.item
    return d.plan.target if node.type == "recommend_target" else None


def _accepted(record: dict[str, Any]) -> bool:
    """Whether the user accepted the recommended item: an accepted dialog that played its accept node."""
    return record["status"] == "accepted" and any(t["node"] == "accept" for t in record["turns"])


def verdict_summary(d: DialogData) -> list[dict[str, Any]]:
    """One entry per node attempt: node, attempt, passed, and the failed validators with their reasons."""
    failed: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for v in d.verdicts:
        if not v["passed"]:
            failed.setdefault((v["plan_hash"], v["node_index"], v["attempt"]), []).append(
                {"validator": v["validator"], "kind": v["kind"], "reasons": v["reasons"]}
            )
    return [
        {
            "plan_hash": a["plan_hash"],
            "node_index": a["node_index"],
            "node": a["node"],
            "attempt": a["attempt"],
            "passed": None if a["passed"] is None else bool(a["passed"]),
            "failed": failed.get((a["plan_hash"], a["node_index"], a["attempt"]), []),
        }
        for a in d.attempts
    ]


# -- release JSONL -----------------------------------------------------------------------------------
def release_line(d: DialogData, run: RunData, domain: str) -> dict[str, Any]:
    """The dialog in the release layout plus our fields (see the module docstring)."""
    r = d.record
    kid, kname = f"{domain}_id", f"{domain}_name"

    def interaction(x: dict[str, Any]) -> dict[str, Any]:
        return {kid: x["item"], kname: x["title"], "rating": x["rating"], "date": x["date"]}

    turns = []
    for t in r["turns"]:
        rec = _recommended_item(d, t)
        turns.append(
            {
                _SPEAKER_KEY[t["speaker"]]: t["text"],
                "is_recommendation": rec is not None,
                "recommended_item": rec,
                "is_acceptance": t["speaker"] == "user" and t["node"] == "accept",
                "super_node": t["node"],
                "node_index": t["node_index"],
                "attempt": t["attempt"],
                "grounding": t["grounding"],
                **turn_extras(t),
            }
        )
    counts = realizer_counts(r["turns"])
    return {
        "user_id": r["user_id"],
        "user_previous_interactions": [interaction(h) for h in r["history"]],
        f"recommended_{domain}": interaction(r["target"]),
        f"negative_recommended_{domain}s": [
            {kid: n["item"], kname: n["title"], "source": n["source"]} for n in r["negatives"]
        ],
        "turns": turns,
        "accepted": _accepted(r),
        "declines": r["declines"],
        "judge": r["judge"],
        "dialog_id": r["dialog_id"],
        "split": r["split"],
        "status": r["status"],
        "fidelity_failed": r["status"] != "accepted",
        "reason": r["reason"],
        "plan": dict(r["plan"]),
        "n_attempts": r["n_attempts"],
        "n_rollbacks": r["n_rollbacks"],
        "n_llm_calls": r["n_llm_calls"],
        "n_superseded_turns": d.superseded_turns,
        "turns_by_realizer": counts,
        "verdicts": verdict_summary(d),
        "user_persona": r["user_persona"],
        "system_persona": r["system_persona"],
        "backend": r["backend"],
        "model": run.model,
        "run_id": run.run_id,
        "run_seed": r["run_seed"],
        "domain": domain,
    }


def record_from_release(line: dict[str, Any]) -> dict[str, Any]:
    """The dataset line a release-layout line was written from."""
    domain = line["domain"]
    kid, kname = f"{domain}_id", f"{domain}_name"

    def interaction(x: dict[str, Any]) -> dict[str, Any]:
        return {"item": x[kid], "title": x[kname], "rating": x["rating"], "date": x["date"]}

    turns = []
    for t in line["turns"]:
        (key,) = [k for k in _KEY_SPEAKER if k in t]
        turns.append(
            {
                "speaker": _KEY_SPEAKER[key],
                "text": t[key],
                "node": t["super_node"],
                "node_index": t["node_index"],
                "attempt": t["attempt"],
                "grounding": t["grounding"],
                **turn_extras(t),
            }
        )
    out = {
        "dialog_id": line["dialog_id"],
        "status": line["status"],
        "reason": line["reason"],
        "user_id": line["user_id"],
        "split": line["split"],
        "history": [interaction(h) for h in line["user_previous_interactions"]],
        "target": interaction(line[f"recommended_{domain}"]),
        "negatives": [
            {"item": n[kid], "title": n[kname], "source": n["source"]}
            for n in line[f"negative_recommended_{domain}s"]
        ],
        "plan": line["plan"],
        "turns": turns,
        "declines": line["declines"],
        "judge": line["judge"],
        "n_attempts": line["n_attempts"],
        "n_rollbacks": line["n_rollbacks"],
        "n_llm_calls": line["n_llm_calls"],
        "backend": line["backend"],
        "user_persona": line["user_persona"],
        "system_persona": line["system_persona"],
        "run_seed": line["run_seed"],
    }
    return {k: out[k] for k in _RECORD_KEYS}


# -- Parquet ------------------------------------------------------------------------------------------
_INTERACTION = pa.struct(
    [("item", pa.string()), ("title", pa.string()), ("rating", pa.float64()), ("date", pa.string())]
)
_IDS = pa.list_(pa.int64())
_TYPES = {"kind": pa.string(), "item": pa.string(), "name": pa.string(), "stance": pa.string(),
          "title": pa.string(), "source": pa.string(), "reason": pa.string(), "rated_low": pa.bool_(),
          "own_review": pa.bool_(), "sentence_ids": _IDS, "evidence_ids": _IDS, "complaint_ids": _IDS}
_GROUNDING = pa.struct([(k, _TYPES.get(k, pa.int64())) for k in GROUNDING_KEYS])
_DECLINE = pa.struct([(k, _TYPES.get(k, pa.int64())) for k in DECLINE_KEYS])
_JUDGE = pa.struct([("naturalness", pa.int64()), ("faithfulness", pa.int64()), ("rationale", pa.string()),
                    ("judge", pa.string()), ("error", pa.string())])
DIALOG_SCHEMA = pa.schema(
    [
        ("dialog_id", pa.string()),
        ("run_id", pa.string()),
        ("split", pa.string()),
        ("status", pa.string()),
        ("fidelity_failed", pa.bool_()),
        ("accepted", pa.bool_()),
        ("reason", pa.string()),
        ("user_id", pa.string()),
        ("history", pa.list_(_INTERACTION)),
        ("target", _INTERACTION),
        (
            "negatives",
            pa.list_(pa.struct([("item", pa.string()), ("title", pa.string()), ("source", pa.string())])),
        ),
        ("plan_hash", pa.string()),
        ("plan_path", pa.list_(pa.string())),
        ("replanned", pa.bool_()),
        ("declines", pa.list_(_DECLINE)),
        ("judge", _JUDGE),
        ("n_turns", pa.int64()),
        ("n_attempts", pa.int64()),
        ("n_rollbacks", pa.int64()),
        ("n_llm_calls", pa.int64()),
        ("n_superseded_turns", pa.int64()),
        ("n_turns_model", pa.int64()),
        ("n_turns_draft", pa.int64()),
        ("n_turns_scripted", pa.int64()),
        ("backend", pa.string()),
        ("model", pa.string()),
        ("user_persona", pa.string()),
        ("system_persona", pa.string()),
        ("run_seed", pa.int64()),
    ]
)
TURN_SCHEMA = pa.schema(
    [
        ("dialog_id", pa.string()),
        ("split", pa.string()),
        ("turn_index", pa.int64()),
        ("speaker", pa.string()),
        ("role", pa.string()),
        ("text", pa.string()),
        ("node", pa.string()),
        ("node_index", pa.int64()),
        ("attempt", pa.int64()),
        ("is_recommendation", pa.bool_()),
        ("recommended_item", pa.string()),
        ("is_acceptance", pa.bool_()),
        ("grounding", pa.list_(_GROUNDING)),
        ("realizer", pa.string()),
        ("draft", pa.string()),
    ]
)


def dialog_row(d: DialogData, run: RunData) -> dict[str, Any]:
    """One row of the dialogs table."""
    r = d.record
    return {
        "dialog_id": r["dialog_id"],
        "run_id": run.run_id,
        "split": r["split"],
        "status": r["status"],
        "fidelity_failed": r["status"] != "accepted",
        "accepted": _accepted(r),
        "reason": r["reason"],
        "user_id": r["user_id"],
        "history": r["history"],
        "target": r["target"],
        "negatives": r["negatives"],
        "plan_hash": r["plan"]["hash"],
        "plan_path": r["plan"]["path"],
        "replanned": r["plan"]["replanned"],
        "declines": r["declines"],
        "judge": r["judge"],
        "n_turns": len(r["turns"]),
        "n_attempts": r["n_attempts"],
        "n_rollbacks": r["n_rollbacks"],
        "n_llm_calls": r["n_llm_calls"],
        "n_superseded_turns": d.superseded_turns,
        **{f"n_turns_{k}": n for k, n in realizer_counts(r["turns"]).items()},
        "backend": r["backend"],
        "model": run.model,
        "user_persona": r["user_persona"],
        "system_persona": r["system_persona"],
        "run_seed": r["run_seed"],
    }


def turn_rows(d: DialogData) -> list[dict[str, Any]]:
    """The rows of the turns table for one dialog, in order."""
    r = d.record
    return [
        {
            "dialog_id": r["dialog_id"],
            "split": r["split"],
            "turn_index": k,
            "speaker": t["speaker"],
            "role": "assistant" if t["speaker"] == "system" else "user",
            "text": t["text"],
            "node": t["node"],
            "node_index": t["node_index"],
            "attempt": t["attempt"],
            "is_recommendation": (rec := _recommended_item(d, t)) is not None,
            "recommended_item": rec,
            "is_acceptance": t["speaker"] == "user" and t["node"] == "accept",
            "grounding": t["grounding"],
            "realizer": t.get("realizer"),
            "draft": t.get("draft"),
        }
        for k, t in enumerate(r["turns"])
    ]


def record_from_parquet(dialog: dict[str, Any], turns: list[dict[str, Any]]) -> dict[str, Any]:
    """The dataset line a dialogs-table row and its turns-table rows were written from."""
    ordered = sorted(turns, key=lambda t: t["turn_index"])
    out = {
        "dialog_id": dialog["dialog_id"],
        "status": dialog["status"],
        "reason": dialog["reason"],
        "user_id": dialog["user_id"],
        "split": dialog["split"],
        "history": list(dialog["history"]),
        "target": dict(dialog["target"]),
        "negatives": list(dialog["negatives"]),
        "plan": {
            "hash": dialog["plan_hash"],
            "path": list(dialog["plan_path"]),
            "replanned": dialog["replanned"],
        },
        "turns": [
            {
                "speaker": t["speaker"],
                "text": t["text"],
                "node": t["node"],
                "node_index": t["node_index"],
                "attempt": t["attempt"],
                "grounding": list(t["grounding"]),
                **turn_extras(t),
            }
            for t in ordered
        ],
        "declines": list(dialog["declines"]),
        "judge": dialog["judge"],
        "n_attempts": dialog["n_attempts"],
        "n_rollbacks": dialog["n_rollbacks"],
        "n_llm_calls": dialog["n_llm_calls"],
        "backend": dialog["backend"],
        "user_persona": dialog["user_persona"],
        "system_persona": dialog["system_persona"],
        "run_seed": dialog["run_seed"],
    }
    return {k: out[k] for k in _RECORD_KEYS}


# -- chat JSONL ---------------------------------------------------------------------------------------
def _category(d: DialogData) -> str:
    for n in d.plan.nodes:
        if n.target is not None:
            return n.target.category
        if n.need:
            return n.need
    return "items"


def chat_messages(d: DialogData, *, with_history: bool = True) -> list[dict[str, str]]:
    """The dialog as chat messages for supervised fine-tuning: the system side is the assistant.

    The system message holds what an LLM-based CRS is given in deployment: its task and, unless
    ``with_history`` is False, the user's past interactions (title, rating, date). Consecutive
    messages of one side are joined (chat templates expect alternating roles).
    """
    r = d.record
    text = (
        f"You are a shop assistant helping a shopper choose {_category(d)}. Ask about what matters to them, "
        "recommend items from the catalog, and justify each recommendation with what buyers' reviews say."
    )
    if with_history and r["history"]:
        lines = [f"- {h['title']} (rated {h['rating']:g}/5, {h['date'][:10]})" for h in r["history"]]
        text += "\nThe shopper's earlier purchases, oldest first:\n" + "\n".join(lines)
    messages = [{"role": "system", "content": text}]
    for t in r["turns"]:
        role = "assistant" if t["speaker"] == "system" else "user"
        if messages[-1]["role"] == role:
            messages[-1] = {"role": role, "content": messages[-1]["content"] + "\n" + t["text"]}
        else:
            messages.append({"role": role, "content": t["text"]})
    return messages
