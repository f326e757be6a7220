"""The backends' public surface: exports, config, request hashing, usage attributes, the factory."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import orjson
import pytest
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from pydantic import ValidationError

import agents.backends as backends
from agents.backends import BackendConfig, CallUsage, FakeChatClient, factory, make_client, request_hash
from agents.backends.factory import register_backend
from agents.errors import BackendConfigError, LLMError, RateLimited
from profiling.errors import ConvRecError


def test_exported_names_do_not_change_by_accident() -> None:
    assert sorted(backends.__all__) == [
        "BackendConfig", "CallUsage", "ChatRequest", "Completion", "FakeChatClient", "FakeHandler",
        "HeuristicCounter", "JsonMode",
        "ModelInfoConfig", "RecordingClient", "TiktokenCounter", "TokenCounter", "UsageListener",
        "count_messages", "make_client", "register_backend", "registered_kinds", "request_hash",
        "smollm2_gguf_path",
    ]


def test_importing_the_package_loads_no_heavy_backend() -> None:
    code = ("import sys, agents.backends; "
            "print(sorted(m for m in ('openai', 'llama_cpp', 'tiktoken') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_errors_sit_in_the_project_tree() -> None:
    assert issubclass(RateLimited, LLMError) and issubclass(LLMError, ConvRecError)
    assert issubclass(BackendConfigError, ConvRecError)
    assert RateLimited("x", retry_after=3.0).retry_after == 3.0 and RateLimited.retryable


def test_config_rejects_unknown_fields_and_holds_no_secret() -> None:
    with pytest.raises(ValidationError):
        BackendConfig(kind="openai", api_key="sk-nope")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        BackendConfig(kind="remote")  # type: ignore[arg-type]
    config = BackendConfig(kind="openai", price_input_per_1m=1.0, price_output_per_1m=4.0)
    assert config.cost_usd(1_000_000, 500_000) == pytest.approx(3.0)
    assert config.resolve_api_key() is None


def test_request_hash_is_stable_across_processes_and_sensitive_to_content() -> None:
    messages = [SystemMessage(content="sys"), UserMessage(content="héllo", source="u"),
                AssistantMessage(content="hi", source="a")]
    params = {"temperature": 0.7, "model": "m", "seed": 1}
    here = request_hash(messages, params)
    assert here == request_hash(messages, dict(reversed(params.items())))  # key order does not matter
    assert here != request_hash(messages, params | {"seed": 2})
    assert here != request_hash([*messages[:-1], AssistantMessage(content="hi!", source="a")], params)
    code = ("from autogen_core.models import *; from agents.backends import request_hash; "
            "print(request_hash([SystemMessage(content='sys'), UserMessage(content='héllo', source='u'), "
            "AssistantMessage(content='hi', source='a')], {'temperature': 0.7, 'model': 'm', 'seed': 1}))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip()
    assert other == here


def test_request_hash_is_the_digest_of_the_canonical_payload_with_or_without_a_memo() -> None:
    messages = [SystemMessage(content="sys \u2603 \"quoted\""), UserMessage(content="héllo", source="u"),
                AssistantMessage(content="hi", source="a"),
                FunctionExecutionResultMessage(content=[FunctionExecutionResult(
                    content="42", name="f", call_id="c1", is_error=False)])]
    params = {"temperature": 0.7, "model": "m", "seed": None, "extra": {"b": [1, 2.5], "a": {"z": 1}},
              "json_output": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    # The definition replay relies on: sha256 of orjson's sorted-keys JSON of the whole payload.
    payload = {"messages": [m.model_dump(mode="json") for m in messages], "params": params}
    expected = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS))
    memo: dict[int, tuple[LLMMessage, bytes]] = {}
    assert request_hash(messages, params) == expected.hexdigest()
    assert request_hash(messages, params, memo=memo) == expected.hexdigest()
    assert len(memo) == len(messages)
    assert request_hash(messages, params, memo=memo) == expected.hexdigest()  # served from the memo
    longer = [*messages, UserMessage(content="again", source="u")]
    assert request_hash(longer, params, memo=memo) == request_hash(longer, params)


def test_otel_attributes_use_the_genai_names_and_drop_unknowns() -> None:
    usage = CallUsage(provider="openai", request_model="m", input_tokens=3, output_tokens=5, latency_s=0.1,
                      request_hash="ab", finish_reason="stop")
    attrs = usage.otel_attributes()
    assert attrs["gen_ai.usage.input_tokens"] == 3 and attrs["gen_ai.usage.output_tokens"] == 5
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert "gen_ai.response.model" not in attrs  # None values are left out
    assert all(isinstance(v, str | int | float | bool | list) for v in attrs.values())


def test_factory_names_unregistered_kinds_and_accepts_new_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(factory._BUILDERS, "scripted", raising=False)
    with pytest.raises(BackendConfigError, match="no backend registered for kind 'scripted'"):
        make_client(BackendConfig(kind="scripted"))
    register_backend("scripted", lambda config: FakeChatClient(lambda ms: "scripted", config=config))
    client = make_client(BackendConfig(kind="scripted", model="realizer"))
    assert isinstance(client, FakeChatClient) and client.config.model == "realizer"
    assert factory.registered_kinds() == ["local", "openai", "scripted"]
