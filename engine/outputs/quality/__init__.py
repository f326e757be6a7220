"""Dataset quality metrics of a run: fidelity, groundedness, evidence, diversity, cost (per run, per persona).

Computed from the trace store alone (dataset lines, final plans, node attempts, verdicts, turns and
model calls), with the validators' own text signals, thresholds and definitions
(:mod:`agents.validators`), one module per group:

- fidelity: share of dialogs accepted, attempts per node type, rollbacks, the top failure reasons (the
  validators' reasons with quoted text and numbers masked, so that one kind of failure counts once);
- groundedness, over the turns of the dataset: a *preference statement* is a user clause in greet,
  elicit or clarify that names an aspect the node binds and takes a side (VADER stance outside the
  dead zone); it agrees when its side is the profile's polarity. A *system claim* is a system clause
  about an item (naming it, or speaking of "it" or its buyers, as the sentiment-claims validator reads
  clauses) that names an aspect whose community sentiment the node binds and takes a side; it is
  checkable when the community has a clear view (|sentiment| >= 0.15) and agrees when the signs match.
  A *target leak* is a turn before the first recommend_target turn that names the target;
- evidence, from the dataset lines' provenance: community claims and the fewest mentions any rests on,
  declines and the share backed by the user's own low rating, the judge's scores (when a judge ran);
- diversity: distinct-1 and distinct-2 over all turns, path and length distributions, aspect coverage
  (aspects the plans bind, and the share of bound aspects the text actually names);
- cost: tokens and USD per accepted dialog (every call of the run, failed attempts included, over the
  accepted dialogs), and the share of prompt tokens that are a shared prefix (see :func:`prefix_share`).
"""

from engine.outputs.quality.combined import quality_metrics, run_quality
from engine.outputs.quality.cost import cost_metrics, prefix_share, token_counter
from engine.outputs.quality.diversity import distinct_n, diversity_metrics
from engine.outputs.quality.evidence import evidence_metrics
from engine.outputs.quality.fidelity import failure_template, fidelity_metrics
from engine.outputs.quality.grounding import groundedness_metrics, sentiment_trajectories

__all__ = [
    "cost_metrics",
    "distinct_n",
    "diversity_metrics",
    "evidence_metrics",
    "failure_template",
    "fidelity_metrics",
    "groundedness_metrics",
    "prefix_share",
    "quality_metrics",
    "run_quality",
    "sentiment_trajectories",
    "token_counter",
]
