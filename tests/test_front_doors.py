"""Every package's front door: the names its ``__init__`` exports on purpose (a change is an API change).

Each exported name must resolve, and ``__all__`` must be exactly the list below.
"""

from __future__ import annotations

import importlib

import pytest

FRONT_DOORS: dict[str, tuple[str, ...]] = {
    "engine": (
        "DialogExecutor", "DialogResult", "DialogScheduler", "DialogSetup", "EndpointLimits",
        "EndpointRegistry", "MemorySink", "ReplayClient", "RunSettings", "TraceStore", "export_run",
        "play", "prepare_dialog_set", "read_run", "write_report",
    ),
    "engine.config": (
        "ConfigFileError", "RunSettings", "SettingsError", "build_parser", "parse_settings",
        "read_config_file",
    ),
    "engine.core": (
        "AttemptRecord", "DialogEnded", "DialogExecutor", "DialogInput", "DialogResult", "DialogScheduler",
        "DialogSetup", "DialogStarted", "DialogStatus", "LLMCallRecorded", "LiveCounts", "MemorySink",
        "NodeAttemptEnded", "NodeAttemptStarted", "Personas", "PreparedDialogs", "ProgressDisplay",
        "Replanned", "RollbackRecord", "RolledBack", "SchedulerOutcome", "TickClock", "TraceEvent",
        "TraceSink", "TurnPolished", "TurnRecorded", "TurnsSuperseded", "VerdictRecorded", "close_logging",
        "configure_logging", "counted_signals", "dialog_record", "parse_event", "prepare_dialog_set",
        "prepare_dialogs", "seed_order", "settled_heap", "system_clock", "watch_signals",
    ),
    "engine.gateway": (
        "BeforeCall", "ClusterGate", "Endpoint", "EndpointLimits", "EndpointRegistry", "EndpointStats",
        "GatewayConfigError", "LagAdmission", "ManagedClient", "TokenBucket", "endpoint_key",
        "endpoint_limits", "loop_lag",
    ),
    "engine.store": (
        "DialogData", "LeaseLostError", "RunBusyError", "RunData", "RunDataError", "RunInfo", "RunStatus",
        "SeedRow", "TraceStore",
        "TraceStoreError", "check_integrity", "list_runs", "open_readonly", "pending_migrations",
        "read_run", "read_trace_rows", "single_error",
    ),
    "engine.outputs": (
        "ExportError", "ExportSummary", "FORMATS", "ReportError", "export_run", "metrics_path",
        "run_quality", "write_report",
    ),
    "engine.cluster": (
        "ClusterLimitStats", "ClusterLimits", "QuotaGate", "RayRunError", "RayRunOutcome", "RayRunner",
        "ShardBatch", "ShardSettings", "ShardWorker", "SharedRunState", "finish_row", "holder_name",
        "ray_session", "shard_keys",
    ),
    "engine.pipeline": (
        "EXIT_BACKEND_FAILED", "EXIT_INCOMPLETE", "EXIT_OK", "INTERRUPTED_EXIT", "Player", "load_run_corpus",
        "play", "prepare_dialogs_of", "run_summary",
        "summary_table", "write_outputs",
    ),
    "engine.replay": (
        "PersonaSwitch", "Recording", "ReplayClient", "ReplayDivergence", "ReplayMode",
        "recording_from_events", "render_dialog", "replay_main",
    ),
    "agents": (
        "AgentReply", "BackendConfig", "Catalog", "DialogAgent", "Feedback", "NodeRequest", "Persona",
        "ScriptedClient", "SystemAgent", "Turn", "UserAgent", "ValidationInput", "Validator", "Verdict",
        "default_validators", "load_persona", "make_client",
    ),
    "agents.backends": (
        "BackendConfig", "CallUsage", "ChatRequest", "Completion", "FakeChatClient", "FakeHandler",
        "HeuristicCounter", "JsonMode", "ModelInfoConfig", "RecordingClient", "TiktokenCounter",
        "TokenCounter", "UsageListener", "count_messages", "make_client", "register_backend",
        "registered_kinds", "request_hash", "smollm2_gguf_path",
    ),
    "agents.validators": (
        "RUBRIC", "ActsValidator", "CatalogOnlyValidator", "DialogScore", "DialogScorer",
        "EarlyRecommendationValidator", "JudgeAnswer", "JudgeReason", "LLMJudgeValidator",
        "PolarityValidator", "RealBehaviourValidator", "RoleValidator", "RuleValidator",
        "SentimentClaimsValidator", "TargetHiddenValidator", "TurnBoundsValidator", "behavioral_validators",
        "default_validators", "executional_validators", "run_validators", "to_node", "to_role",
    ),
}


@pytest.mark.parametrize("package", sorted(FRONT_DOORS))
def test_the_front_door_exports_what_it_says(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(FRONT_DOORS[package])
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
