"""Settings of ``python -m engine.run`` read from a TOML file (the second source of RunSettings).

A config file holds the same settings as the command line, named like the options without the
leading dashes (``--llm-concurrency 16`` is ``llm_concurrency = 16``), at top level or under a
``[run]`` table. Secrets never go in the file: an ``api_key`` (or anything named like one) is
refused with a pointer to ``api_key_env``. Each value is checked against its setting's type and
bounds here (a whole number for a count: ``dialogs = 2.7`` or ``2.0`` is refused), so that an error
names the file and the key; every problem of a file is reported at once.
"""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from agents.secrets import is_secret_name
from engine.config.settings import RunSettings
from profiling.errors import ConvRecError

__all__ = ["ConfigFileError", "read_config_file"]

class ConfigFileError(ConvRecError):
    """Raised when a config file cannot be read or holds unknown, mistyped, out-of-range or secret
    settings (every one of them is named at once)."""

    def __init__(self, path: Path, key: str | None, reason: str,
                 problems: list[tuple[str, str]] | None = None) -> None:
        self.path = path
        self.key = key
        self.problems = problems or ([(key, reason)] if key else [])
        super().__init__(f"{path}: {key + ': ' if key else ''}{reason}")


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in the TOML file at ``path``, each checked against its type and bounds.

    Every problem of the file is reported in one ConfigFileError (not one per run of the command).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, None, f"not valid TOML: {exc}") from exc
    if isinstance(data.get("run"), dict):
        data = {**{k: v for k, v in data.items() if k != "run"}, **data["run"]}
    allowed = RunSettings.names(in_file=True)
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    unknown = False
    for key, value in data.items():
        name = key.replace("-", "_")
        if is_secret_name(name):
            problems.append((key, "secrets do not belong in a config file; put the key in an environment "
                                  "variable and name it with api_key_env"))
        elif name not in allowed:
            problems.append((key, "unknown setting"))
            unknown = True
        else:
            try:
                out[name] = _checked(name, value)
            except ValueError as exc:
                problems.append((key, str(exc)))
    if problems:
        text = "; ".join(f"{k}: {why}" for k, why in problems)
        if unknown:
            text += f" (known settings: {', '.join(sorted(allowed))})"
        key = problems[0][0] if len(problems) == 1 else None
        if key is not None:
            text = text[len(key) + 2:]
        elif len(problems) > 1:
            text = f"{len(problems)} problems: {text}"
        raise ConfigFileError(path, key, text, problems)
    return out


def _checked(name: str, value: Any) -> Any:
    """``value`` checked against the setting's type and bounds (ValueError saying what is wrong)."""
    field = RunSettings.model_fields[name]
    annotation = field.annotation
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if isinstance(value, dict | list):
        raise ValueError(f"expected a single value, got {type(value).__name__}")
    if isinstance(value, float) and int in (annotation, *typing.get_args(annotation)) \
            and float not in (annotation, *typing.get_args(annotation)):
        # pydantic would take 3.0 for 3: a count written as a float is a typo more often than not.
        raise ValueError(f"bad value {value!r}: expected a whole number")
    checked = Annotated[annotation, *field.metadata] if field.metadata else annotation  # type: ignore[valid-type]
    try:
        return TypeAdapter(checked).validate_python(value)
    except ValidationError as exc:
        raise ValueError(f"bad value {value!r}: {exc.errors()[0]['msg']}") from None
