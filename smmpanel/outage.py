"""What the panel does while Redis (the cache and the Celery broker) is unreachable.

The policy per surface (README, "Redis outage"):

* Sign-in, sign-up and password reset fail **closed**: their rate limits (R-AUP-4) live in
  the cache, so without it they answer a clear 503 page with ``Retry-After`` instead of
  letting unlimited password guesses through.
* New Order, Mass Order and ``/api/v2`` stay **open with a degraded limit**: their rate
  limits (R-AUP-4, R-KEY-4) fall back to counters in each process's memory (same rates,
  counted per process), so customers can keep ordering; money is guarded by Postgres anyway.
* Orders placed while the broker is down are kept: the relay message that could not be
  sent is logged and dropped, and the due rows (``orders_relay_due``, R-ORD-9's relay
  sweep) hand the order on once the broker is back.
* Anything else that still reaches Redis and fails answers 503 with ``Retry-After``: JSON
  ``{"error": "Too many requests"}`` on ``/api/`` (never an HTML page), a short page elsewhere.

``rate_limits_exceeded`` counts several limits of one request in one Redis round trip (the
API's per-IP and per-account limits, issue 15), with django-ratelimit's keys and windows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django_ratelimit import ALL
from django_ratelimit.core import (
    _SIMPLE_KEYS,
    EXPIRATION_FUDGE,
    _get_window,
    _make_cache_key,
    _split_rate,
    is_ratelimited,
)
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What an unreachable Redis raises: as a cache (redis-py) or as the broker (kombu).
REDIS_DOWN = (RedisError, BrokerError)


class _LocalCounters:
    """Fixed-window counters in this process's memory: the rate limits' fallback."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[tuple, int] = {}

    def hit(self, *, group: str, value: str, rate: str, increment: bool) -> bool:
        limit, period = _split_rate(rate)
        now = time.time()
        window = int(now // period)
        key = (group, value, rate, window)
        with self._lock:
            if len(self._counts) > 100_000:  # old windows are never read again
                self._counts = {k: v for k, v in self._counts.items() if k[3] == window}
            count = self._counts.get(key, 0) + (1 if increment else 0)
            self._counts[key] = count
        return count > limit


_local = _LocalCounters()


def _key_value(request, group: str, key) -> str:
    if callable(key):
        return str(key(group, request))
    return str(_SIMPLE_KEYS[key](request))  # "ip", "user", "user_or_ip"


@dataclass(frozen=True)
class Limit:
    """One fixed-window rate limit, named as django-ratelimit names it: ``key`` is "ip",
    "user", "user_or_ip" or ``callable(group, request) -> str``; ``rate`` is like "60/m"."""

    group: str
    key: str | Callable
    rate: str


def rate_limits_exceeded(request, limits: Sequence[Limit]) -> bool:
    """Count this request against every limit in ``limits``; whether it is over any of them.

    On Redis, one pipeline (one round trip) of ``SET key 0 EX <period + fudge> NX`` and
    ``INCRBY key 1`` per limit: django-ratelimit's ``cache.add`` + ``cache.incr`` on the same keys
    and windows, so its counts and ours are the same counters. Another cache (LocMem in
    development) is counted by django-ratelimit itself. While Redis is down, the limits are
    counted in this process (degraded, never unlimited, never a 500)."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return False
    cache = caches[settings.RATELIMIT_USE_CACHE]
    if not isinstance(cache, RedisCache):
        over = [
            is_ratelimited(request, group=lim.group, key=lim.key, rate=lim.rate, increment=True)
            for lim in limits
        ]
        return any(over)
    counted = []
    pipeline = cache._cache.get_client(write=True).pipeline(transaction=False)
    for lim in limits:
        value = _key_value(request, lim.group, lim.key)
        allowed, period = _split_rate(lim.rate)
        window = _get_window(value, period)
        key = cache.make_key(_make_cache_key(lim.group, window, lim.rate, value, ALL))
        pipeline.set(key, 0, ex=period + EXPIRATION_FUDGE, nx=True)
        pipeline.incr(key)
        counted.append((lim, value, allowed))
    try:
        replies = pipeline.execute()
    except RedisError as exc:
        logger.warning("rate limits: cache unreachable (%s); counted per process", exc)
        over = [
            _local.hit(group=lim.group, value=value, rate=lim.rate, increment=True)
            for lim, value, _allowed in counted
        ]
        return any(over)
    counts = replies[1::2]  # each INCRBY's answer
    return any(count > allowed for count, (*_, allowed) in zip(counts, counted, strict=True))


def enqueue_on_commit(task, *args) -> None:
    """``task.delay(*args)`` once the transaction commits; a broker that is down does not
    fail the request that already committed (the due rows pick the work up later)."""

    def send():
        try:
            task.delay(*args)
        except REDIS_DOWN as exc:
            logger.warning("%s%r not queued, broker unreachable: %s", task.name, args, exc)

    transaction.on_commit(send)


def retry_after_seconds() -> int:
    return settings.REDIS_OUTAGE_RETRY_AFTER_SECONDS
