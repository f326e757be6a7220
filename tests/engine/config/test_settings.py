"""RunSettings: defaults, then the TOML file, then the command line; what is stored and what resume keeps."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.config import ConfigFileError, RunSettings, SettingsError, build_parser, parse_settings
from profiling.datasets import DATASETS, add_data_arguments


def test_the_command_line_wins_over_the_file_which_wins_over_the_defaults(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    cfg.write_text('dialogs = 7\nconcurrency = 2\n[run]\nseed = 5\n')
    s = parse_settings(["--config", str(cfg), "--dialogs", "9"])
    assert (s.dialogs, s.concurrency, s.seed) == (9, 2, 5)  # command line, file, file
    assert s.max_attempts == RunSettings.model_fields["max_attempts"].default  # default
    assert parse_settings([]) == RunSettings()


def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "run.toml"
    for text, words in (("dialogz = 3\n", ("dialogz", "unknown setting")),
                        ('api_key = "sk-x"\n', ("api_key_env",)),
                        ('dialogs = "many"\n', ("dialogs", "bad value")),
                        ("quiet = 1\n", ("quiet", "true or false")),
                        ("resume = true\n", ("resume", "unknown setting")),
                        ("dialogs = [1]\n", ("dialogs", "single value"))):
        cfg.write_text(text)
        with pytest.raises(ConfigFileError) as info:
            parse_settings(["--config", str(cfg)])
        assert str(cfg) in str(info.value) and all(w in str(info.value) for w in words)
        assert "sk-x" not in str(info.value)


def test_the_data_options_match_profilings_own_command_line() -> None:
    # profiling.datasets.add_data_arguments serves the profiling CLI; the run's data settings are the
    # same options with the same defaults and choices (those of a command that makes dialogs: the
    # clothing reviews have no users or dates to cut seeds from).
    p = argparse.ArgumentParser()
    add_data_arguments(p, stage1_only=False)
    defaults = vars(p.parse_args([]))
    settings = RunSettings()
    assert {k: getattr(settings, k) for k in defaults} == defaults
    (data,) = [a for a in p._actions if a.dest == "data"]
    assert set(RunSettings.model_fields["data"].annotation.__args__) == set(data.choices)  # type: ignore[union-attr]
    assert set(data.choices) < set(DATASETS)


def test_what_is_stored_and_what_a_resumed_run_keeps() -> None:
    s = RunSettings(backend="scripted", dialogs=5, concurrency=3, db=Path("x.db"), resume=True)
    stored = s.stored()
    assert stored["backend"] == "scripted" and stored["dialogs"] == 5 and stored["concurrency"] == 3
    assert not {"db", "out", "run_id", "resume", "replay", "quiet"} & set(stored)
    later = RunSettings(dialogs=99, concurrency=8, user_persona="terse").resumed(stored, run_id="r")
    # What decides the dialogs comes from the store; scheduling is the command line's.
    assert (later.dialogs, later.backend, later.user_persona) == (5, "scripted", "default")
    assert (later.concurrency, later.run_id) == (8, "r")
    # A run stored by an older version lacks some settings: they take their defaults.
    assert RunSettings(max_tokens=10).resumed({"dialogs": 2}, run_id="old").max_tokens == 256


def test_contradictions_are_refused_before_any_work() -> None:
    with pytest.raises(SettingsError, match="--model"):
        RunSettings(backend="openai").backend_config()
    with pytest.raises(SettingsError, match="--judge on"):
        RunSettings(backend="scripted", judge="on").check()
    with pytest.raises(SettingsError, match="--executor ray"):
        RunSettings(base_url="http://a/v1,http://b/v1").check()
    with pytest.raises(ValidationError):
        RunSettings(backend="nope")  # type: ignore[arg-type]


def test_every_setting_is_an_option_with_its_default_in_the_help() -> None:
    text = build_parser().format_help()
    for name, field in RunSettings.model_fields.items():
        assert "--" + name.replace("_", "-") in text
        assert field.description
    assert "(default: 4)" in text and "--config" in text
