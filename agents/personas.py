"""Personas: how a simulated user or system talks, loaded from TOML by name or path, keyed by content hash.

A persona file (``agents/personas/<role>_<name>.toml``) holds style instructions for a real LLM, knobs
for the scripted realizer (verbosity, hedges, exclamations, aspect-free filler lines) and, for users,
plan knobs that shape the planner's path distribution (the engine hands :meth:`Persona.plan_knobs` to
the planner). A persona is recorded in traces by :attr:`Persona.content_hash`, so a run says exactly
which wording of a persona it used.

Example::

    name = "terse"
    role = "user"
    description = "answers in as few words as possible"
    style = "Answer in one short sentence. No small talk."
    [knobs]
    verbosity = 1
    hedge_rate = 0.0
    exclamation_rate = 0.0
    [plan]
    node_weights = { clarify = 0.5 }
"""

from __future__ import annotations

import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from profiling.errors import DataError

__all__ = ["PERSONA_DIR", "Persona", "PersonaError", "PersonaKnobs", "PersonaPlanKnobs", "Role",
           "list_personas", "load_persona"]

PERSONA_DIR = Path(__file__).with_name("personas")

Role = Literal["user", "system"]

_Frozen = ConfigDict(frozen=True, extra="forbid")


class PersonaError(DataError):
    """Raised when a persona cannot be found or its file is invalid (names the file and the field)."""


class PersonaKnobs(BaseModel):
    """What the scripted realizer varies by persona; a real LLM gets the style text instead."""

    model_config = _Frozen

    verbosity: int = Field(2, ge=1, le=3, description="1: bare minimum, 2: a reason or two, 3: chatty")
    hedge_rate: float = Field(0.0, ge=0.0, le=1.0, description="chance a statement opens with a hedge")
    exclamation_rate: float = Field(0.0, ge=0.0, le=1.0, description="chance a sentence ends with '!'")
    hedges: tuple[str, ...] = Field(("I think", "Probably", "I guess"), description="hedge openers")
    fillers: tuple[str, ...] = Field(
        (), description="aspect-free small-talk lines added at verbosity 3 (never preferences or items)"
    )


class PersonaPlanKnobs(BaseModel):
    """A persona's shaping of the planner's path distribution (multipliers per state or node type)."""

    model_config = _Frozen

    node_weights: dict[str, float] = Field(default_factory=dict)
    length_weights: dict[int, float] = Field(default_factory=dict)


class Persona(BaseModel):
    """One persona of one role: style instructions, realizer knobs and plan knobs."""

    model_config = _Frozen

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    role: Role
    description: str
    style: str = Field(description="natural-language style instructions for an LLM agent")
    knobs: PersonaKnobs = Field(default_factory=PersonaKnobs)
    plan: PersonaPlanKnobs = Field(default_factory=PersonaPlanKnobs)

    def canonical_json(self) -> bytes:
        """The persona as JSON with sorted keys (what the content hash is computed on)."""
        opts = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        return orjson.dumps(self.model_dump(mode="json"), option=opts)

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex, 16 chars) of the canonical JSON: the same persona text gives the same hash."""
        return hashlib.sha256(self.canonical_json()).hexdigest()[:16]

    def plan_knobs(self) -> dict[str, Any]:
        """Plan knobs as a plain dict (``node_weights``, ``length_weights``), e.g. for PlanConfig.personas."""
        return {"node_weights": dict(self.plan.node_weights),
                "length_weights": dict(self.plan.length_weights)}


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _parse(path: Path) -> Persona:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PersonaError("persona file not found", file=path, kind="missing_file") from None
    except tomllib.TOMLDecodeError as exc:
        raise PersonaError(f"not valid TOML: {exc}", file=path, kind="malformed") from None
    except UnicodeDecodeError:
        raise PersonaError("not UTF-8 text", file=path, kind="encoding") from None
    try:
        return Persona.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise PersonaError(
            f"{err['msg']} ({exc.error_count()} error(s) in all)",
            file=path, field=_field_path(err["loc"]), kind="bad_field",
        ) from None


@lru_cache(maxsize=128)
def _load_cached(path: Path, mtime_ns: int) -> Persona:
    # Keyed by mtime too: an edited persona file is read again, never served stale.
    return _parse(path)


def list_personas(role: Role) -> list[str]:
    """Names of the built-in personas of ``role``, sorted."""
    prefix = f"{role}_"
    return sorted(p.stem[len(prefix):] for p in PERSONA_DIR.glob(f"{prefix}*.toml"))


def load_persona(name_or_path: str | Path, role: Role) -> Persona:
    """The persona named ``name_or_path`` (a built-in of ``role``) or read from that TOML path.

    A path is anything ending in ``.toml`` or containing a path separator. Raises PersonaError naming
    the file and field when the file is missing or invalid, or when its role is not ``role``.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(name_or_path)
    else:
        path = PERSONA_DIR / f"{role}_{text}.toml"
        if not path.is_file():
            known = ", ".join(list_personas(role))
            raise PersonaError(f"no built-in {role} persona {text!r} (known: {known})",
                               kind="unknown_persona")
    path = path.resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise PersonaError("persona file not found", file=path, kind="missing_file") from None
    persona = _load_cached(path, mtime)
    if persona.role != role:
        raise PersonaError(f"persona {persona.name!r} is a {persona.role} persona, {role} wanted",
                           file=path, field="role", kind="wrong_role")
    return persona
