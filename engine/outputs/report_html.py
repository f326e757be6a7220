"""The run report as one self-contained HTML page: metric tables, inline SVG plots, example dialogs.

No external resource of any kind (styles inline, plots as inline SVG), so the file opens offline. A
few lines of inline script count, after layout, the plots and dialogs the browser actually drew and
write the counts into ``#render-check`` (what the headless-browser test reads).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any

from engine.outputs.report_svg import bar_chart, histogram, line_chart
from engine.store.reader import DialogData, RunData

__all__ = ["SECTIONS", "render_report"]

SECTIONS = ("summary", "fidelity", "groundedness", "diversity", "cost", "trajectories", "personas", "dialogs")

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:8px 0}
h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #dde2ea}
h3{font-size:15px;margin:14px 0 6px}
section{background:#fff;border-radius:8px;padding:4px 18px 14px;margin:14px 0;box-shadow:0 1px 2px #0001}
table{border-collapse:collapse;margin:6px 0 10px}
td,th{padding:3px 10px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#f0f2f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#f0f4fa;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px}
svg.plot{width:100%;height:auto;max-width:720px;background:#fff}
svg text{font-size:11px;fill:#333}
svg text.title{font-size:13px;font-weight:600}
svg text.small{font-size:9px}
svg .axis{stroke:#555}
svg .grid{stroke:#e3e6ec}
.node{border-left:4px solid #3b6ea8;margin:8px 0;padding:4px 10px;background:#fafbfd}
.node.failed{border-left-color:#b8434e}
.node-head{font-size:12px;color:#445;margin-bottom:4px}
.turn{margin:3px 0;padding:4px 8px;border-radius:6px;max-width:80%}
.turn.user{background:#e9f5ec;margin-left:auto}
.turn.system{background:#eaf0fa}
.turn.superseded{opacity:.55;text-decoration:line-through}
.who{font-size:11px;color:#667;font-weight:600;margin-right:6px}
.pass{color:#2f7d4a;font-weight:600}
.fail{color:#b8434e;font-weight:600}
.reasons{font-size:12px;color:#7a2e36;margin:2px 0 6px 8px}
.rollback{color:#7b5ea7;font-weight:600;margin:6px 0}
.note{color:#556;font-size:12px}
code{background:#eef1f5;padding:0 3px;border-radius:3px}
"""

_CHECK = """
<script>
window.addEventListener('load', function () {
  var drawn = Array.from(document.querySelectorAll('svg.plot')).filter(function (s) {
    var b = s.getBoundingClientRect();
    return b.width > 50 && b.height > 50 && s.querySelector('rect,polyline');
  }).length;
  var dialogs = Array.from(document.querySelectorAll('article.dialog')).filter(function (a) {
    return a.getBoundingClientRect().height > 40 && a.querySelectorAll('.turn').length > 0;
  }).length;
  var sections = document.querySelectorAll('section[data-section]').length;
  var el = document.getElementById('render-check');
  el.setAttribute('data-plots', drawn); el.setAttribute('data-dialogs', dialogs);
  el.setAttribute('data-sections', sections);
  el.textContent = 'rendered ' + drawn + ' plots, ' + dialogs + ' dialogs';
});
</script>
"""


class _Pct(float):
    """A share, shown as a percentage."""


def _pct(value: float | None) -> _Pct | None:
    return None if value is None else _Pct(value)


def _v(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, _Pct):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_v(c)}</td>' if isinstance(c, int | float) else f"<td>{_v(c)}</td>" for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _pairs(d: dict[str, Any], keys: Sequence[str]) -> str:
    shares = [k.startswith(("share", "distinct_")) and k != "distinct_paths" for k in keys]
    rows = [
        (k.replace("_", " "), _pct(d.get(k)) if pct else d.get(k))
        for k, pct in zip(keys, shares, strict=True)
    ]
    return _table(("figure", "value"), rows)


def _section(key: str, title: str, body: str) -> str:
    return f'<section data-section="{key}" id="{key}"><h2>{escape(title)}</h2>{body}</section>'


def _dialog(d: DialogData, trace_turns: Sequence[dict[str, Any]]) -> str:
    """One dialog with node boundaries: each node's failed attempts (struck through, with the failing
    validators' reasons), then its accepted turns and the verdict that let them through."""
    verdicts: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for v in d.verdicts:
        verdicts[(v["plan_hash"], v["node_index"], v["attempt"])].append(v)
    turns: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for t in trace_turns:
        turns[(t["plan_hash"], t["node_index"], t["attempt"])].append(t)
    r = d.record
    parts = [
        f'<article class="dialog" data-dialog="{escape(d.dialog_id)}"><h3>{escape(d.dialog_id)} · '
        f"{escape(r['status'])} · user {escape(r['user_id'])} · target "
        f"“{escape(r['target']['title'])}”</h3>",
        f'<p class="note">plan: {escape(" > ".join(r["plan"]["path"]))}'
        + (" (replanned after a rollback)" if r["plan"]["replanned"] else "")
        + "</p>",
    ]
    plan_hash = d.attempts[0]["plan_hash"] if d.attempts else None
    for a in d.attempts:
        if a["plan_hash"] != plan_hash:
            where = f'the end of node {a["node_index"] - 1}' if a["node_index"] else "the start"
            parts.append(f'<div class="rollback">↺ rolled back to {where}: the dialog goes on along another '
                         "path of the grammar</div>")
            plan_hash = a["plan_hash"]
        key = (a["plan_hash"], a["node_index"], a["attempt"])
        vs = verdicts.get(key, [])
        failed = [v for v in vs if not v["passed"]]
        ok = a["passed"] == 1
        verdict = (
            f'<span class="pass">passed {len(vs)} checks</span>'
            if ok
            else f'<span class="fail">failed {len(failed)} of {len(vs)} checks</span>'
            if a["passed"] == 0
            else '<span class="fail">not finished</span>'
        )
        parts.append(
            f'<div class="node{"" if ok else " failed"}"><div class="node-head">node {a["node_index"]}: '
            f"<b>{escape(a['node'])}</b> · attempt {a['attempt']} · {verdict}</div>"
        )
        for t in turns.get(key, []):
            cls = f"turn {t['speaker']}" + (" superseded" if t["superseded"] else "")
            who = t["speaker"] + (f" · {t['realizer']}" if t.get("realizer") else "")
            text = escape(t["text"])
            parts.append(f'<div class="{cls}"><span class="who">{escape(who)}</span>{text}</div>')
        for v in failed:
            reasons = "; ".join(v["reasons"]) or "(no reason given)"
            parts.append(f'<div class="reasons">✗ {escape(v["validator"])}: {escape(reasons)}</div>')
        parts.append("</div>")
    if r["status"] != "accepted" and r["reason"]:
        parts.append(f'<p class="fail">{escape(r["reason"])}</p>')
    parts.append("</article>")
    return "".join(parts)


def _examples(run: RunData, how_many: int) -> list[DialogData]:
    """A few dialogs worth reading: the first accepted one, ones with retries or rollbacks, a failed one."""
    picks: list[DialogData] = []

    def add(d: DialogData | None) -> None:
        if d is not None and d not in picks and len(picks) < how_many:
            picks.append(d)

    add(next((d for d in run.dialogs if d.status == "accepted" and not d.superseded_turns), None))
    add(next((d for d in run.dialogs if d.status == "accepted" and d.record["n_rollbacks"]), None))
    add(next((d for d in run.dialogs if d.status == "accepted" and d.superseded_turns), None))
    add(next((d for d in run.dialogs if d.status != "accepted"), None))
    for d in run.dialogs:
        add(d)
    return picks


def _accounting(metrics: dict[str, Any]) -> str:
    """Dialogs by status (those not ended too), calls that failed for good, input records skipped."""
    by_status = metrics.get("dialogs_by_status", {})
    parts = [" · ".join(f"{escape(k.replace('_', ' '))} {v:,}" for k, v in by_status.items())]
    parts.append(f"model calls failed for good {metrics.get('failed_calls', 0):,}")
    loaded = metrics.get("input") or {}
    if loaded:
        kinds = ", ".join(f"{escape(k)} {n:,}" for k, n in loaded.get("skipped", {}).items())
        parts.append(f"input records loaded {loaded.get('loaded', 0):,}, skipped "
                     f"{loaded.get('skipped_total', 0):,}" + (f" ({kinds})" if kinds else ""))
    return '<p class="note" id="accounting">dialogs: ' + " · ".join(parts) + "</p>"


def render_report(
    run: RunData,
    metrics: dict[str, Any],
    trajectories: list[dict[str, Any]],
    trace_turns: Sequence[dict[str, Any]],
    *,
    examples: int = 3,
) -> str:
    """The whole report page for ``run`` from its metrics (see :func:`engine.outputs.quality.run_quality`)."""
    m = metrics["run"]
    fid, gr, div, cost = m["fidelity"], m["groundedness"], m["diversity"], m["cost"]
    pc = cost["prefix_cache"]
    cards = [
        ("dialogs complete", f"{metrics['complete']:,} of {metrics['planned']:,}"),
        ("accepted", _v(_pct(fid["share_accepted"]))),
        ("turns by the model", _v(_pct(fid["share_turns_model"]))),
        ("target leaks (accepted)", _v(gr["target_leaks_in_accepted"])),
        ("preferences agree", _v(_pct(gr["share_preferences_agree"]))),
        ("distinct-2", _v(_pct(div["distinct_2"]))),
        ("tokens / accepted dialog", _v(cost["tokens_per_accepted_dialog"])),
    ]
    summary = (
        '<div class="cards">'
        + "".join(f'<div class="card">{escape(k)}<b>{v}</b></div>' for k, v in cards)
        + "</div>"
        + f'<p class="note">run <code>{escape(run.run_id)}</code> · status {escape(run.status)} · '
        f"backend {escape(run.backend)} · model {escape(str(run.model))} · seed {run.seed} · started "
        f"{escape(run.started_at)} · database <code>{escape(str(run.path))}</code></p>"
        + _accounting(metrics)
    )
    fidelity = (
        _table(("status", "dialogs"), sorted(fid["statuses"].items()))
        + _pairs(
            fid,
            ("share_accepted", "turns_model", "turns_draft", "turns_scripted", "share_turns_model",
             "node_attempts", "rollbacks", "share_dialogs_rolled_back", "superseded_turns"),
        )
        + '<div class="grid2">'
        + bar_chart(
            "attempts_per_node",
            "Mean attempts per node, by node type",
            [(k, v["mean_attempts"]) for k, v in fid["attempts_per_node"].items()],
        )
        + bar_chart(
            "failures_by_validator",
            "Failed checks by validator",
            list(fid["failed_checks_by_validator"].items()),
        )
        + "</div>"
        + _table(
            ("node type", "nodes", "mean attempts", "max", "first try"),
            [
                (k, v["nodes"], v["mean_attempts"], v["max_attempts"], _pct(v["share_first_try"]))
                for k, v in fid["attempts_per_node"].items()
            ],
        )
        + "<h3>Top failure reasons (quoted text masked)</h3>"
        + (
            _table(("reason", "count"), [(x["reason"], x["count"]) for x in fid["top_failure_reasons"]])
            if fid["top_failure_reasons"]
            else '<p class="note">No check failed.</p>'
        )
    )
    grounded = (
        _pairs(
            gr,
            (
                "preference_statements",
                "share_preferences_agree",
                "system_claims",
                "system_claims_checkable",
                "share_claims_agree",
                "target_leaks_in_accepted",
                "target_leaks_in_failed",
            ),
        )
        + '<p class="note">Over the accepted dialogs, with the validators\' own text signals: a preference '
        "statement is a user clause in greet / elicit / clarify naming a bound aspect and taking a side; "
        "a claim is a system clause about an item naming an aspect whose community sentiment the node "
        "binds.</p><h3>Evidence behind the claims</h3>"
        + _pairs(metrics["run"]["evidence"], tuple(metrics["run"]["evidence"]))
    )
    diversity = (
        _pairs(
            div,
            (
                "distinct_1",
                "distinct_2",
                "distinct_2_user",
                "distinct_2_system",
                "distinct_paths",
                "aspects_bound",
                "share_bindings_realised",
            ),
        )
        + '<div class="grid2">'
        + histogram(
            "turns_per_dialog",
            "Turns per dialog",
            {int(k): v for k, v in div["turns_per_dialog"].items()},
            x_label="turns",
        )
        + bar_chart(
            "node_types", "Super-nodes on the plans (grammar states)", list(div["node_types"].items())
        )
        + "</div>"
        + bar_chart(
            "aspect_coverage",
            "Aspect coverage: bindings per aspect",
            list(div["aspect_bindings"].items())[:20],
        )
        + "<h3>Most frequent paths</h3>"
        + _table(("path", "dialogs"), [(x["path"], x["dialogs"]) for x in div["top_paths"]])
    )
    roles = [(k, v["calls"], v["input_tokens"], v["output_tokens"]) for k, v in cost["by_role"].items()]
    costs = (
        _pairs(
            cost,
            (
                "llm_calls",
                "input_tokens",
                "output_tokens",
                "cost_usd",
                "share_tokens_estimated",
                "tokens_per_accepted_dialog",
                "cost_usd_per_accepted_dialog",
                "calls_per_accepted_dialog",
                "latency_s_mean",
            ),
        )
        + _table(("role", "calls", "input tokens", "output tokens"), roles)
        + "<h3>Prompt tokens a prefix cache can reuse (estimate)</h3>"
        + _pairs(
            pc,
            (
                "prompt_tokens",
                "reusable_system_message",
                "reusable_transcript",
                "share_shared_prefix",
                "share_system_message_only",
                "counter",
            ),
        )
        + '<p class="note">Prompts are not stored: the system message is rebuilt from the stored persona, '
        "the transcript from the stored turns; reusable = the role's system message after its first call "
        "plus the transcript its previous call in the dialog already sent.</p>"
    )
    if trajectories:
        series = [(f"{t['title']} · {t['aspect']}", t["points"]) for t in trajectories]
        traj = (
            line_chart(
                "sentiment_trajectories",
                "Community sentiment of item aspects, as bound at each seed's time",
                series,
            )
            + "<p class=\"note\">From the plans' community facts (the profiles as of each seed's time).</p>"
        )
    else:
        traj = '<p class="note">No item aspect was bound at two different seed times in this run.</p>'
    persona_rows = [
        (
            k,
            v["fidelity"]["dialogs"],
            _pct(v["fidelity"]["share_accepted"]),
            _pct(v["groundedness"]["share_preferences_agree"]),
            v["groundedness"]["target_leaks_in_accepted"],
            _pct(v["diversity"]["distinct_2"]),
            v["cost"]["tokens_per_accepted_dialog"],
            v["evidence"]["judge_naturalness"],
            v["evidence"]["judge_faithfulness"],
        )
        for k, v in metrics["per_persona"].items()
    ]
    personas = _table(
        ("persona", "dialogs", "accepted", "preferences agree", "leaks", "distinct-2", "tokens / accepted",
         "judge: naturalness", "judge: faithfulness"),
        persona_rows,
    ) + '<p class="note">Judge scores (1-5, rubric in agents.validators.scorer): empty when no judge ran.</p>'
    if metrics.get("runs_by_persona"):
        personas += "<h3>Runs of this database by persona</h3>" + _table(
            (
                "run",
                "user persona",
                "system persona",
                "backend",
                "dialogs",
                "accepted",
                "preferences agree",
                "leaks",
                "distinct-2",
                "tokens / accepted",
            ),
            [
                (
                    r["run_id"],
                    r["user_persona"],
                    r["system_persona"],
                    r["backend"],
                    r["dialogs"],
                    _pct(r["share_accepted"]),
                    _pct(r["share_preferences_agree"]),
                    r["target_leaks_in_accepted"],
                    _pct(r["distinct_2"]),
                    r["tokens_per_accepted_dialog"],
                )
                for r in metrics["runs_by_persona"]
            ],
        )
    else:
        personas += (
            '<p class="note">A run has one user and one system persona; <code>--all-runs</code> adds '
            "the other runs of this database, one row each, to compare personas.</p>"
        )
    by_dialog: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in trace_turns:
        by_dialog[t["dialog_id"]].append(t)
    shown = _examples(run, examples)
    dialogs = (
        '<p class="note">Node boundaries, every attempt (failed attempts struck through with the failing '
        "validators' reasons) and each node's verdict.</p>"
        + "".join(_dialog(d, by_dialog[d.dialog_id]) for d in shown)
    )
    body = "".join(
        [
            _section("summary", "Summary", summary),
            _section("fidelity", "Fidelity", fidelity),
            _section("groundedness", "Groundedness", grounded),
            _section("diversity", "Diversity", diversity),
            _section("cost", "Cost", costs),
            _section("trajectories", "Sentiment trajectories", traj),
            _section("personas", "Per persona", personas),
            _section("dialogs", "Example dialogs", dialogs),
        ]
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ConvRec Studio run '
        f'{escape(run.run_id)}</title><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_CSS}</style></head><body><main><h1>ConvRec Studio · run {escape(run.run_id)}</h1>"
        f'<p id="render-check" data-plots="0" data-dialogs="0" data-sections="0"></p>{body}</main>'
        f"{_CHECK}</body></html>"
    )
