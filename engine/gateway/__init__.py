"""The LLM call gateway: every model call of a run passes its endpoint's limits, retries and timeout."""

from engine.gateway.endpoint import (
    CallStats,
    ClusterGate,
    Endpoint,
    EndpointLimits,
    EndpointRegistry,
    EndpointStats,
    GatewayConfigError,
    ManagedClient,
    TokenBucket,
    current_call_stats,
    endpoint_key,
)

__all__ = [
    "CallStats",
    "ClusterGate",
    "Endpoint",
    "EndpointLimits",
    "EndpointRegistry",
    "EndpointStats",
    "GatewayConfigError",
    "ManagedClient",
    "TokenBucket",
    "current_call_stats",
    "endpoint_key",
]
