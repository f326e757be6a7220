"""The agents of stage 3: model backends, prompts and personas, the user and system agents, the
scripted realizer and the fidelity validators (``agents.backends`` and ``agents.validators`` have
front doors of their own).

Each name is imported from its module when first used, so ``import agents.catalog`` (say) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it
_EXPORTS = {
    "AgentReply": "agents.dialog",
    "BackendConfig": "agents.backends",
    "Catalog": "agents.catalog",
    "DialogAgent": "agents.dialog",
    "Feedback": "agents.dialog",
    "NodeRequest": "agents.dialog",
    "Persona": "agents.personas",
    "ScriptedClient": "agents.scripted",
    "SystemAgent": "agents.system_agent",
    "Turn": "agents.dialog",
    "UserAgent": "agents.user_agent",
    "ValidationInput": "agents.dialog",
    "Validator": "agents.dialog",
    "Verdict": "agents.dialog",
    "default_validators": "agents.validators",
    "load_persona": "agents.personas",
    "make_client": "agents.backends",
}

__all__ = [
    "AgentReply",
    "BackendConfig",
    "Catalog",
    "DialogAgent",
    "Feedback",
    "NodeRequest",
    "Persona",
    "ScriptedClient",
    "SystemAgent",
    "Turn",
    "UserAgent",
    "ValidationInput",
    "Validator",
    "Verdict",
    "default_validators",
    "load_persona",
    "make_client",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
