"""Model backends behind autogen's ChatCompletionClient: OpenAI-compatible HTTP, local llama.cpp, a fake.

Heavy dependencies (openai, llama_cpp, tiktoken) load when a backend is built, not on import.
"""

from agents.backends.base import ChatRequest, Completion, RecordingClient, UsageListener
from agents.backends.config import BackendConfig, JsonMode, ModelInfoConfig, smollm2_gguf_path
from agents.backends.factory import make_client, register_backend, registered_kinds
from agents.backends.fake import FakeChatClient, FakeHandler
from agents.backends.tokens import HeuristicCounter, TiktokenCounter, TokenCounter, count_messages
from agents.backends.usage import CallUsage, request_hash

__all__ = [
    "BackendConfig",
    "CallUsage",
    "ChatRequest",
    "Completion",
    "FakeChatClient",
    "FakeHandler",
    "HeuristicCounter",
    "JsonMode",
    "ModelInfoConfig",
    "RecordingClient",
    "TiktokenCounter",
    "TokenCounter",
    "UsageListener",
    "count_messages",
    "make_client",
    "register_backend",
    "registered_kinds",
    "request_hash",
    "smollm2_gguf_path",
]
