"""A run's dialogs spread over a Ray cluster: shard actors, cluster-wide endpoint limits, one store.

No module here imports Ray at import time; :func:`ray_session` joins (or starts) a cluster.
"""

from engine.cluster.limits import ClusterLimits, ClusterLimitStats, QuotaGate
from engine.cluster.runner import RayRunError, RayRunner, RayRunOutcome, ray_session, shard_keys
from engine.cluster.shard import (
    ShardBatch,
    ShardSettings,
    ShardWorker,
    SharedRunState,
    finish_row,
    holder_name,
)

__all__ = [
    "ClusterLimitStats",
    "ClusterLimits",
    "QuotaGate",
    "RayRunError",
    "RayRunOutcome",
    "RayRunner",
    "ShardBatch",
    "ShardSettings",
    "ShardWorker",
    "SharedRunState",
    "finish_row",
    "holder_name",
    "ray_session",
    "shard_keys",
]
