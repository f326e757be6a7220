"""Personas: built-ins load and validate, content hashes are stable, bad files fail naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.personas import PERSONA_DIR, Persona, PersonaError, list_personas, load_persona
from planners import PlanConfig, PlanKnobs
from profiling.errors import DataError

USERS = {"default", "terse", "chatty", "indecisive", "expert", "budget_minded"}
SYSTEMS = {"default", "concise", "explanatory", "enthusiastic"}


def test_builtin_personas_of_both_roles_load_by_name() -> None:
    assert set(list_personas("user")) >= USERS
    assert set(list_personas("system")) >= SYSTEMS
    for role, names in (("user", USERS), ("system", SYSTEMS)):
        for name in names:
            p = load_persona(name, role)  # type: ignore[arg-type]
            assert p.name == name and p.role == role and p.style.strip()
            assert len(p.content_hash) == 16


def test_load_by_path_equals_load_by_name_and_hash_is_content_based(tmp_path: Path) -> None:
    by_name = load_persona("terse", "user")
    by_path = load_persona(PERSONA_DIR / "user_terse.toml", "user")
    assert by_name == by_path and by_name.content_hash == by_path.content_hash
    # The same content elsewhere hashes the same; one changed knob changes the hash.
    copy = tmp_path / "mine.toml"
    text = (PERSONA_DIR / "user_terse.toml").read_text()
    copy.write_text(text)
    assert load_persona(str(copy), "user").content_hash == by_name.content_hash
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("verbosity = 1", "verbosity = 2"))
    assert load_persona(changed, "user").content_hash != by_name.content_hash


def test_plan_knobs_are_a_plain_dict_the_planner_accepts() -> None:
    knobs = load_persona("indecisive", "user").plan_knobs()
    assert isinstance(knobs, dict) and knobs["node_weights"]["clarify"] > 1
    cfg = PlanConfig(personas={"indecisive": PlanKnobs(**knobs)})
    assert cfg.personas["indecisive"].node_weights == knobs["node_weights"]


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ('name = "x"\nrole = "user"\ndescription = "d"\nstyle = "s"\n[knobs]\nverbosity = 7\n',
         "knobs.verbosity", "bad_field"),
        ('name = "x"\nrole = "bot"\ndescription = "d"\nstyle = "s"\n', "role", "bad_field"),
        ('name = "x"\nrole = "user"\ndescription = "d"\n', "style", "bad_field"),
        ('name = "x"\nrole = "user"\ndescription = "d"\nstyle = "s"\nsurprise = 1\n',
         "surprise", "bad_field"),
        ('name = "x"\nrole = "system"\ndescription = "d"\nstyle = "s"\n', "role", "wrong_role"),
        ('name = "x\nrole = 1', None, "malformed"),
    ],
)
def test_bad_persona_file_names_file_and_field(
    tmp_path: Path, body: str, field: str | None, kind: str
) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(PersonaError) as info:
        load_persona(path, "user")
    err = info.value
    assert isinstance(err, DataError)
    assert err.file == str(path.resolve()) and err.field == field and err.kind == kind
    assert str(path.name) in str(err)


def test_unknown_name_and_missing_file_are_clear() -> None:
    with pytest.raises(PersonaError, match=r"known: .*terse"):
        load_persona("pirate", "user")
    with pytest.raises(PersonaError, match="not found"):
        load_persona("/nonexistent/p.toml", "user")


def test_persona_model_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="pattern"):
        Persona(name="Bad Name", role="user", description="d", style="s")
