"""Fidelity validators: rule checks of execution and behaviour (always on) and an optional LLM judge.

Each validator judges one node attempt (a ValidationInput) and returns a Verdict whose reasons are
written for the retry prompt of the role whose turn failed. Rule validators read the turns and never
trust an agent's own claims. The judge model can also score whole dialogs (``DialogScorer``).
"""

from agents.validators.behavioral import (
    CatalogOnlyValidator,
    PolarityValidator,
    RealBehaviourValidator,
    SentimentClaimsValidator,
    TargetHiddenValidator,
    behavioral_validators,
)
from agents.validators.executional import (
    ActsValidator,
    EarlyRecommendationValidator,
    RoleValidator,
    TurnBoundsValidator,
    executional_validators,
)
from agents.validators.llm_judge import JudgeAnswer, JudgeReason, LLMJudgeValidator
from agents.validators.rule import RuleValidator, to_node, to_role
from agents.validators.scorer import RUBRIC, DialogScore, DialogScorer
from agents.validators.suite import default_validators, run_validators

__all__ = [
    "RUBRIC",
    "ActsValidator",
    "CatalogOnlyValidator",
    "DialogScore",
    "DialogScorer",
    "EarlyRecommendationValidator",
    "JudgeAnswer",
    "JudgeReason",
    "LLMJudgeValidator",
    "PolarityValidator",
    "RealBehaviourValidator",
    "RoleValidator",
    "RuleValidator",
    "SentimentClaimsValidator",
    "TargetHiddenValidator",
    "TurnBoundsValidator",
    "behavioral_validators",
    "default_validators",
    "executional_validators",
    "run_validators",
    "to_node",
    "to_role",
]
