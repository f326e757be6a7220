"""The validator set of a run: the rule validators (always), plus LLM judges when configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import anyio
from autogen_core.models import ChatCompletionClient

from agents.dialog import ValidationInput, Validator, Verdict
from agents.validators.behavioral import behavioral_validators
from agents.validators.executional import executional_validators
from agents.validators.llm_judge import LLMJudgeValidator
from agents.validators.rule import RuleValidator

__all__ = ["default_validators", "run_validators"]


def default_validators(judge: ChatCompletionClient | None = None) -> list[Validator]:
    """Every rule validator, then an executional and a behavioral LLM judge on ``judge`` when given."""
    out: list[Validator] = [*executional_validators(), *behavioral_validators()]
    if judge is not None:
        out += [LLMJudgeValidator(judge, "executional"), LLMJudgeValidator(judge, "behavioral")]
    return out


Check = Callable[[Validator, ValidationInput], Awaitable[Verdict | None]]


async def _check(v: Validator, data: ValidationInput) -> Verdict | None:
    return await v.check(data)


async def run_validators(validators: Sequence[Validator], data: ValidationInput, *,
                         check: Check = _check) -> list[Verdict]:
    """Every validator's verdict on one node attempt, in the order given (judges run concurrently).

    ``check`` runs a validator that waits (an LLM judge): a caller's own can attribute and catch its
    model calls; a None verdict is left out.
    """
    verdicts: list[Verdict | None] = [None] * len(validators)

    async def one(k: int) -> None:
        verdicts[k] = await check(validators[k], data)

    # Rule checks never wait: run them inline (a task each costs more than the check itself).
    waiting = []
    for k, v in enumerate(validators):
        if isinstance(v, RuleValidator):
            verdicts[k] = v.verdict(data)
        else:
            waiting.append(k)
    if waiting:
        async with anyio.create_task_group() as tg:
            for k in waiting:
                tg.start_soon(one, k)
    return [v for v in verdicts if v is not None]
