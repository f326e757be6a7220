"""make_client: a BackendConfig in, a ready ChatCompletionClient out.

Each kind maps to a builder. Builders import their heavy dependencies (openai, llama_cpp) only when
called, so importing this module costs nothing. Another package can add a kind with
:func:`register_backend` (the ``scripted`` backend does, from the session that builds it).
"""

from __future__ import annotations

from collections.abc import Callable

from autogen_core.models import ChatCompletionClient

from agents.backends.config import BackendConfig
from agents.errors import BackendConfigError

__all__ = ["BackendBuilder", "make_client", "register_backend", "registered_kinds"]

BackendBuilder = Callable[[BackendConfig], ChatCompletionClient]


def _build_openai(config: BackendConfig) -> ChatCompletionClient:
    if config.openai_client == "sdk":
        from agents.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(config)
    from agents.backends.http_backend import HttpBackend

    return HttpBackend(config)


def _build_local(config: BackendConfig) -> ChatCompletionClient:
    from agents.backends.local import LocalBackend

    return LocalBackend(config)


def _build_scripted(config: BackendConfig) -> ChatCompletionClient:
    # agents.scripted registers its own builder when imported, replacing this one.
    import agents.scripted  # noqa: F401

    builder = _BUILDERS.get("scripted")
    if builder is None or builder is _build_scripted:
        raise BackendConfigError("agents.scripted did not register a builder for kind 'scripted'")
    return builder(config)


_BUILDERS: dict[str, BackendBuilder] = {"openai": _build_openai, "local": _build_local,
                                        "scripted": _build_scripted}


def register_backend(kind: str, builder: BackendBuilder) -> None:
    """Make ``make_client`` build ``kind`` with ``builder`` (replacing any earlier builder for it)."""
    _BUILDERS[kind] = builder


def registered_kinds() -> list[str]:
    """The kinds make_client can build now, sorted."""
    return sorted(_BUILDERS)


def make_client(config: BackendConfig) -> ChatCompletionClient:
    """A client for ``config``; raises BackendConfigError when its kind has no builder or cannot load."""
    builder = _BUILDERS.get(config.kind)
    if builder is None:
        raise BackendConfigError(
            f"no backend registered for kind {config.kind!r} (registered: {', '.join(registered_kinds())})")
    return builder(config)
