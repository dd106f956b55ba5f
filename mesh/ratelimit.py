"""Per-user rate limits on the expensive RPCs: token buckets every replica shares, in Redis.

A bucket holds up to ``burst`` tokens and refills at ``per_minute / 60`` tokens a second; each
limited call takes one. The check is one Lua script (atomic in Redis, so two replicas cannot
both take the last token) that reads Redis's own clock (replicas' clocks may differ). A call
that finds the bucket empty is RESOURCE_EXHAUSTED ``RATE_LIMITED`` with a ``google.rpc.RetryInfo``
saying when one token will be back.

Which RPCs are limited, and in which bucket, is declared by each service's composition root
(``ServiceBinding.limits``); the interceptor applies it after the caller is known. Calls a
trusted mesh service makes for a user (the worker running a message) are not limited again:
the message was counted when SendMessage accepted it.

Redis being unreachable lets calls through (a warning at most once a minute): the limit guards
cost, and Envoy's coarse ``local_ratelimit`` still stands in front.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from mesh.errors import ResourceExhausted
from mesh.logs import get_logger

log = get_logger(__name__)

# KEYS[1] the bucket; ARGV: refill per second, burst, cost. Returns {allowed, wait seconds}.
_TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or t
tokens = math.min(burst, tokens + math.max(0, t - at) * rate)
local allowed, wait = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Limit:
    """A bucket's size and refill: ``burst`` calls at once, ``per_minute`` sustained."""

    per_minute: float
    burst: int

    def __str__(self) -> str:
        return f"{self.per_minute:g} a minute (bursts of {self.burst})"


class RateLimiter:
    """Takes tokens from per-user buckets in Redis (see the module docstring)."""

    def __init__(self, url: str, limits: dict[str, Limit], *, prefix: str = "photofun:rl") -> None:
        # Imported here: redis-py costs ~1 s of start-up, paid only where limits are configured.
        import redis.asyncio as redis
        from redis.exceptions import RedisError

        self._unreachable = (RedisError, OSError)
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self._take = self._client.register_script(_TAKE)
        self._limits = dict(limits)
        self._prefix = prefix
        self._warned = float("-inf")

    @property
    def buckets(self) -> frozenset[str]:
        """The buckets this limiter knows; a method limited in any other would never be."""
        return frozenset(self._limits)

    async def take(self, bucket: str, user: str) -> None:
        """Take one token of ``user``'s ``bucket``; RESOURCE_EXHAUSTED when it is empty."""
        limit = self._limits.get(bucket)
        if limit is None or limit.per_minute <= 0:
            return
        try:
            allowed, wait = await self._take(
                keys=[f"{self._prefix}:{bucket}:{user}"],
                args=[limit.per_minute / 60.0, limit.burst, 1],
            )
        except self._unreachable as exc:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("rate limits not checked: Redis unreachable", error=type(exc).__name__)
            return
        if int(allowed) != 1:
            seconds = max(float(wait), 0.001)
            raise ResourceExhausted(
                f"too many requests: the limit for {bucket} is {limit}; "
                f"try again in {math.ceil(seconds)} s",
                reason="RATE_LIMITED",
                metadata={"bucket": bucket, "limit_per_minute": f"{limit.per_minute:g}"},
                retry_after=seconds,
            )

    async def aclose(self) -> None:
        """Close the Redis connections."""
        await self._client.aclose()
