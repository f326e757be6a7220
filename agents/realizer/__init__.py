"""The scripted realizer: a grounded turn written from a directive alone, deterministically from its seed.

``realise(directive)`` is the text; :mod:`agents.scripted` serves it as a backend, and the polish
mode uses it as the draft a model rewrites. The pieces: a phrasing grammar (``grammar``), phrase
banks per act and persona register (``banks_user``, ``banks_system``), a writer holding the seeded
choices (``writer``) and the turn of each role, node by node (``user_turns``, ``system_turns``).
"""

from __future__ import annotations

from agents.directive import Directive
from agents.realizer.banks_system import SYSTEM_BANKS
from agents.realizer.banks_user import USER_BANKS
from agents.realizer.system_turns import system_turn
from agents.realizer.user_turns import user_turn
from agents.realizer.writer import Writer

__all__ = ["realise"]


def realise(directive: Directive) -> str:
    """The turn the directive asks for, written deterministically from its seed."""
    user = directive.role == "user"
    w = Writer(directive, USER_BANKS if user else SYSTEM_BANKS)
    core = user_turn(w) if user else system_turn(w)
    # Fillers go first, so a question stays the turn's last sentence.
    sentences = [*w.filler(), *core]
    return " ".join(w.excite(s) for s in sentences)
