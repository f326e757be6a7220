"""The LLM call gateway: every model call of a run passes its endpoint's limits, retries and timeout.

``EndpointRegistry(seed=...).wrap(backend, endpoint_limits(settings))`` puts a backend behind the
endpoint of its config (:mod:`engine.gateway.client` has the whole story of a call).
"""

from engine.gateway.admission import LagAdmission
from engine.gateway.client import BeforeCall, ManagedClient
from engine.gateway.endpoint import ClusterGate, Endpoint, EndpointStats
from engine.gateway.limits import EndpointLimits, GatewayConfigError, TokenBucket, endpoint_limits, loop_lag
from engine.gateway.registry import EndpointRegistry, endpoint_key

__all__ = [
    "BeforeCall",
    "ClusterGate",
    "Endpoint",
    "EndpointLimits",
    "EndpointRegistry",
    "EndpointStats",
    "GatewayConfigError",
    "LagAdmission",
    "ManagedClient",
    "TokenBucket",
    "endpoint_key",
    "endpoint_limits",
    "loop_lag",
]
