"""EndpointRegistry: one Endpoint per key for a run, and the wrapping of backends behind them."""

from __future__ import annotations

import time

import anyio

from agents.backends.base import RecordingClient
from agents.backends.config import BackendConfig
from engine.core.loop_lag import LoopLag
from engine.gateway.admission import LagAdmission
from engine.gateway.client import BeforeCall, ManagedClient
from engine.gateway.endpoint import ClusterGate, Endpoint, EndpointStats
from engine.gateway.limits import Clock, EndpointLimits, GatewayConfigError, Sleep

__all__ = ["EndpointRegistry", "endpoint_key"]


def endpoint_key(config: BackendConfig) -> str:
    """Where calls go and to which model: ``<base_url or backend kind>/<model>``."""
    return f"{config.base_url or config.kind}/{config.model}"



class EndpointRegistry:
    """One :class:`Endpoint` per key for a run; :meth:`wrap` puts a backend behind its endpoint.

    With ``loop_lag``, every endpoint's calls pass one :class:`LagAdmission` first (the loop is the
    process's, whichever endpoint a call goes to); whoever plays the dialogs runs ``loop_lag.run``.
    """

    def __init__(self, *, seed: int = 0, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep,
                 gate: ClusterGate | None = None, loop_lag: LoopLag | None = None) -> None:
        self.seed = seed
        self._clock = clock
        self._sleep = sleep
        self._gate = gate
        self.loop_lag = loop_lag
        self.admission = LagAdmission(loop_lag, clock=clock) if loop_lag is not None else None
        self._endpoints: dict[str, Endpoint] = {}

    def endpoint(self, key: str, limits: EndpointLimits | None = None) -> Endpoint:
        """The endpoint of ``key``, made on first use (GatewayConfigError if ``limits`` differ from its)."""
        ep = self._endpoints.get(key)
        if ep is None:
            ep = Endpoint(key, limits or EndpointLimits(), seed=self.seed, clock=self._clock,
                          sleep=self._sleep, gate=self._gate, admission=self.admission)
            self._endpoints[key] = ep
        elif limits is not None and limits != ep.limits:
            raise GatewayConfigError(f"endpoint {key} already has limits {ep.limits.model_dump()}; "
                                     f"a client asked for {limits.model_dump()}")
        return ep

    def wrap(self, client: RecordingClient, limits: EndpointLimits | None = None, *,
             before_call: BeforeCall | None = None) -> ManagedClient:
        """``client`` behind the endpoint of its config (already managed: re-wrapped around its inner)."""
        inner = client.inner if isinstance(client, ManagedClient) else client
        endpoint = self.endpoint(endpoint_key(inner.config), limits)
        return ManagedClient(inner, endpoint, before_call=before_call)

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self._endpoints.values())

    def stats(self) -> list[EndpointStats]:
        """Every endpoint's counters, in the order they were made."""
        return [ep.stats() for ep in self._endpoints.values()]
