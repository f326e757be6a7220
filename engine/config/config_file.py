"""Settings of ``python -m engine.run`` from a TOML file, and which of them a resumed run must keep.

A config file holds the same settings as the command line, named like the options without the
leading dashes (``--llm-concurrency 16`` is ``llm_concurrency = 16``), at top level or under a
``[run]`` table. The command line wins over the file, the file over the defaults. Secrets never go in
the file: an ``api_key`` (or anything named like one) is refused with a pointer to ``api_key_env``.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from profiling.errors import ConvRecError

__all__ = ["GENERATION_KEYS", "ConfigFileError", "apply_config_file", "generation_settings"]

# What decides a run's dialogs: a resumed run takes these from the store, whatever the command line
# says, so that the dialogs it completes are the ones the run started with.
GENERATION_KEYS = (
    "data", "reviews", "meta", "limit", "on_error", "world_reviews", "world_users", "world_items",
    "world_aspects", "world_seed", "dialogs", "split", "max_attempts", "judge", "user_persona",
    "system_persona", "encoder", "seed", "select", "backend", "model", "base_url", "api_key_env", "json_mode",
    "directive", "max_tokens", "temperature",
)
# Names a secret goes by (exactly, or as a suffix: "openai_api_key"); "max_tokens" is not one.
_SECRET_NAMES = ("api_key", "apikey", "key", "token", "access_token", "auth_token", "secret", "password")
_NOT_IN_FILE = {"config", "help", "resume", "replay"}


class ConfigFileError(ConvRecError):
    """Raised when a config file cannot be read or holds an unknown, mistyped or secret setting."""

    def __init__(self, path: Path, key: str | None, reason: str) -> None:
        self.path = path
        self.key = key
        super().__init__(f"{path}: {key + ': ' if key else ''}{reason}")


def _is_secret(key: str) -> bool:
    k = key.lower()
    return any(k == name or k.endswith("_" + name) for name in _SECRET_NAMES)


def apply_config_file(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; when ``--config FILE`` is given, its settings become the parser's defaults first."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    known, _ = pre.parse_known_args(argv)
    if known.config is None:
        return parser.parse_args(argv)
    path: Path = known.config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, None, f"not valid TOML: {exc}") from exc
    if isinstance(data.get("run"), dict):
        data = {**{k: v for k, v in data.items() if k != "run"}, **data["run"]}
    actions = {a.dest: a for a in parser._actions}  # argparse has no public list
    defaults: dict[str, Any] = {}
    for key, value in data.items():
        dest = key.replace("-", "_")
        if _is_secret(dest):
            raise ConfigFileError(path, key, "secrets do not belong in a config file; put the key in an "
                                  "environment variable and name it with api_key_env")
        action = actions.get(dest)
        if action is None or dest in _NOT_IN_FILE:
            known_keys = ", ".join(sorted(d for d in actions if d not in _NOT_IN_FILE))
            raise ConfigFileError(path, key, f"unknown setting (known: {known_keys})")
        defaults[dest] = _convert(path, key, action, value)
    parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def _convert(path: Path, key: str, action: argparse.Action, value: Any) -> Any:
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise ConfigFileError(path, key, f"expected true or false, got {value!r}")
        return value
    if isinstance(value, dict | list):
        raise ConfigFileError(path, key, f"expected a single value, got {type(value).__name__}")
    try:
        converted = action.type(value) if callable(action.type) else value  # type: ignore[misc]
    except (TypeError, ValueError) as exc:
        raise ConfigFileError(path, key, f"bad value {value!r}: {exc}") from exc
    if action.choices is not None and converted not in action.choices:
        raise ConfigFileError(path, key, f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return converted


def generation_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings that decide the run's dialogs, JSON-ready (paths as strings), for the store."""
    out: dict[str, Any] = {}
    for key in GENERATION_KEYS:
        value = getattr(args, key, None)
        out[key] = str(value) if isinstance(value, Path) else value
    return out
