"""Settings of ``python -m engine.run`` read from a TOML file (the second source of RunSettings).

A config file holds the same settings as the command line, named like the options without the
leading dashes (``--llm-concurrency 16`` is ``llm_concurrency = 16``), at top level or under a
``[run]`` table. Secrets never go in the file: an ``api_key`` (or anything named like one) is
refused with a pointer to ``api_key_env``. Each value is checked against its setting's type here, so
that an error names the file and the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from engine.config.settings import RunSettings
from profiling.errors import ConvRecError

__all__ = ["ConfigFileError", "read_config_file"]

# Names a secret goes by (exactly, or as a suffix: "openai_api_key"); "max_tokens" is not one.
_SECRET_NAMES = ("api_key", "apikey", "key", "token", "access_token", "auth_token", "secret", "password")


class ConfigFileError(ConvRecError):
    """Raised when a config file cannot be read or holds an unknown, mistyped or secret setting."""

    def __init__(self, path: Path, key: str | None, reason: str) -> None:
        self.path = path
        self.key = key
        super().__init__(f"{path}: {key + ': ' if key else ''}{reason}")


def _is_secret(key: str) -> bool:
    k = key.lower()
    return any(k == name or k.endswith("_" + name) for name in _SECRET_NAMES)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in the TOML file at ``path``, each checked against its type (ConfigFileError if not)."""
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
    for key, value in data.items():
        name = key.replace("-", "_")
        if _is_secret(name):
            raise ConfigFileError(path, key, "secrets do not belong in a config file; put the key in an "
                                  "environment variable and name it with api_key_env")
        if name not in allowed:
            raise ConfigFileError(path, key, f"unknown setting (known: {', '.join(sorted(allowed))})")
        out[name] = _checked(path, key, name, value)
    return out


def _checked(path: Path, key: str, name: str, value: Any) -> Any:
    annotation = RunSettings.model_fields[name].annotation
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigFileError(path, key, f"expected true or false, got {value!r}")
        return value
    if isinstance(value, dict | list):
        raise ConfigFileError(path, key, f"expected a single value, got {type(value).__name__}")
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise ConfigFileError(path, key, f"bad value {value!r}: {exc.errors()[0]['msg']}") from exc
