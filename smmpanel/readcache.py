"""Caches of what every API ``add`` reads and rarely changes, with explicit invalidation.

Each cached thing belongs to a *stamp*: a random token in the cache (Redis), named after what
it covers (``services``, ``blocked``, ``rates:<user id>``, ``apikey:<digest>``,
``ledger-accounts``). An item is stored together with the stamp that was current *before*
it was read from the database, and is served only while that stamp is still current.
The services that write the rows call ``stamp_bump``, which sets a new token at once and
again once the transaction commits:

- at once, so that the writer's own transaction (and a test's) never reads its old value;
- after commit, so that an item read from the database between the first bump and the
  commit (the old row, under the new stamp) is never served: the next request after the
  write always reads the database again, and caches what it read.

What a caller reads inside a transaction is stored only once that transaction commits
(it may have read its own uncommitted rows, or roll back). When the cache cannot be reached,
reads go to the database; a bump that fails inside the writer's transaction fails the write
(a stale price is never served later); one that fails after commit is logged, and the
item's lifetime (``READ_CACHE_SECONDS``) bounds what is left.

Each app's ``signals.py`` bumps the same stamps when a row is saved or deleted outside a
service (the admin, a shell, a test): invalidation, not a business rule. Bulk ``update()``
calls bump explicitly where they are made.
"""

from __future__ import annotations

import logging
import pickle
import secrets
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
T = TypeVar("T")
STAMP_SECONDS = 24 * 3600  # always longer than an item lives: an expired stamp only misses
# The cache is down, or an item was pickled by another version of the code.
CACHE_ERRORS = (RedisError, OSError, pickle.PickleError, AttributeError, ImportError, EOFError)


def _stamp_key(name: str) -> str:
    return f"rc:stamp:{name}"


def _item_key(name: str, key: str) -> str:
    return f"rc:item:{name}:{key}"


def _new_stamps(names) -> dict[str, str]:
    return {_stamp_key(name): secrets.token_hex(8) for name in names}


def _bump_after_commit(names: tuple[str, ...]) -> None:
    try:
        cache.set_many(_new_stamps(names), timeout=STAMP_SECONDS)
    except CACHE_ERRORS:  # the write is committed; the item timeout bounds what is left
        logger.exception("read cache: could not bump %s after commit", names)


def stamp_bump(*names: str) -> None:
    """Invalidate everything cached under ``names``, now and once the transaction commits."""
    if not names or not settings.READ_CACHE_SECONDS:
        return
    cache.set_many(_new_stamps(names), timeout=STAMP_SECONDS)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _bump_after_commit(names))


def cached(name: str, key: str, load: Callable[[], T]) -> T:
    """``load()``'s answer, from the cache while stamp ``name`` has not been bumped.

    ``None`` answers are not cached (an unknown key, a disabled service): they are read
    from the database each time.
    """
    if not settings.READ_CACHE_SECONDS:
        return load()
    stamp_key, item_key = _stamp_key(name), _item_key(name, key)
    try:
        found = cache.get_many([stamp_key, item_key])
        stamp = found.get(stamp_key)
        if stamp is None:  # never set, or expired: start one (another process may win)
            cache.add(stamp_key, secrets.token_hex(8), timeout=STAMP_SECONDS)
            stamp = cache.get(stamp_key)
        item = found.get(item_key)
    except CACHE_ERRORS:
        logger.warning("read cache unreachable: reading %s from the database", name)
        return load()
    if item is not None and stamp is not None and item[0] == stamp:
        return item[1]
    value = load()
    if value is not None and stamp is not None:

        def store() -> None:
            try:
                cache.set(item_key, (stamp, value), timeout=settings.READ_CACHE_SECONDS)
            except CACHE_ERRORS:
                logger.warning("read cache unreachable: %s not stored", name)

        # Stored under the stamp read before the database: a bump since then (or by this
        # very transaction, whose after-commit bump runs first) leaves it never served.
        if connection.in_atomic_block:
            transaction.on_commit(store)
        else:
            store()
    return value
