"""The command line of ``python -m engine.run``, made from RunSettings, and the one merge of its sources.

Every setting is an option named like the field (``llm_concurrency`` is ``--llm-concurrency``), in the
field's --help group, with the field's description and default. Options default to "not given"
(argparse's SUPPRESS), so that :func:`parse_settings` can tell what the command line said from what
it left to the config file or the defaults.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, Literal

from engine.config.config_file import read_config_file
from engine.config.settings import GROUPS, RunSettings

__all__ = ["build_parser", "parse_settings"]

_DESCRIPTION = ("Generate behaviour-grounded recommendation dialogs from reviews: profile, plan, simulate "
                "with fidelity validators, store the trace in SQLite and write the dataset.")


def _kind(annotation: Any) -> tuple[type, tuple[str, ...] | None]:
    """The scalar type of a setting (Optional removed) and its choices when it is a Literal."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0]
    if typing.get_origin(annotation) is Literal:
        return str, typing.get_args(annotation)
    return annotation, None


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (every option documented with its default)."""
    p = argparse.ArgumentParser(prog="python -m engine.run", description=_DESCRIPTION,
                                argument_default=argparse.SUPPRESS)
    p.add_argument("--config", type=Path, help="TOML file with any of these settings (names without the "
                   "dashes, e.g. llm_concurrency = 16); the command line wins over it")
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    for name, field in RunSettings.model_fields.items():
        extra = RunSettings.field_extra(name)
        flag = "--" + name.replace("_", "-")
        help_text = f"{field.description} (default: {field.default})"
        group = groups[extra["group"]]
        kind, choices = _kind(field.annotation)
        if kind is bool:
            group.add_argument(flag, action="store_true", help=help_text)
            continue
        kwargs: dict[str, Any] = {"type": kind, "help": help_text}
        if choices is not None:
            kwargs["choices"] = choices
        if extra.get("metavar"):
            kwargs["metavar"] = extra["metavar"]
        group.add_argument(flag, **kwargs)
    return p


def parse_settings(argv: list[str] | None = None) -> RunSettings:
    """The run's settings from ``argv``: defaults, then the ``--config`` file, then the command line."""
    given = vars(build_parser().parse_args(argv))
    config = given.pop("config", None)
    return RunSettings.merged(read_config_file(config) if config is not None else None, given)
