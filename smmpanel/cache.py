"""Django's Redis cache, with one ``redis.Redis`` client per connection pool (issue 15).

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
command, and each one rebuilds redis-py's table of some two hundred response callbacks:
about 1 ms of every API ``add`` when it sent nine cache commands (rate limits, read cache).
A ``redis.Redis`` over a connection pool is safe to share between threads, and its pool
reconnects after a fork, so one per pool serves the whole process. Behaviour, errors and
keys are Django's own.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class PooledRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledRedisCacheClient
