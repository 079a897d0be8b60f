"""Settings past one machine: the replica router and the Redis cache shared by every server."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache

from insurdesk.common.replica import ReplicaRouter, replica_reads

REDIS = "redis://127.0.0.1:6379/0"


def test_reads_go_to_the_replica_only_inside_replica_reads(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(
        "insurdesk.common.replica.settings", SimpleNamespace(DATABASES={"default": {}, "replica": {}})
    )
    router = ReplicaRouter()
    assert router.db_for_read(None) == "default"
    with replica_reads():
        assert router.db_for_read(None) == "replica"
        assert router.db_for_write(None) == "default"  # a write, or a select_for_update, never goes there
    assert router.db_for_read(None) == "default"
    assert router.allow_migrate("replica", "customers") is False


def test_without_a_replica_everything_reads_the_primary():
    with replica_reads():
        assert ReplicaRouter().db_for_read(None) == "default"


def test_replica_settings_come_from_the_environment(monkeypatch):
    import importlib

    import insurdesk.settings as module

    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@127.0.0.1:5433/insurdesk")
    monkeypatch.setenv("INSURDESK_CACHE_URL", "redis://127.0.0.1:6379/3")
    try:
        fresh = importlib.reload(module)
        assert fresh.DATABASES["replica"]["PORT"] == 5433
        assert fresh.DATABASES["replica"]["TEST"] == {"MIRROR": "default"}
        assert fresh.CACHES["ratelimit"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
        assert fresh.CACHES["default"]["LOCATION"] == "redis://127.0.0.1:6379/3"
        assert fresh.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    finally:
        monkeypatch.delenv("DATABASE_REPLICA_URL")
        monkeypatch.delenv("INSURDESK_CACHE_URL")
        importlib.reload(module)


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis does not answer at {REDIS}; CI requires it")
        pytest.skip(f"Redis does not answer at {REDIS}: start redis-server to run this test")


def test_two_servers_count_one_rate_limit_window_in_redis(settings):
    """Two cache clients stand for two servers: each counts into the same Redis key, atomically."""
    _redis_or_skip()
    from django.core.cache import caches

    from insurdesk.api.ratelimit import hit

    prefix = f"test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS,
            "KEY_PREFIX": prefix,
        },
    }
    other_server = RedisCache(REDIS, {"KEY_PREFIX": prefix})
    results = [hit("token:abc", limit=3, window=60, now=1_000_000.0) for _ in range(2)]
    key = caches["ratelimit"].make_key("ratelimit:60:999960:token:abc")
    assert other_server._cache.get_client(key).get(key) is not None  # the count is in Redis
    other_server.incr("ratelimit:60:999960:token:abc")  # the other server's request
    results.append(hit("token:abc", limit=3, window=60, now=1_000_001.0))
    assert [r[:2] for r in results] == [(True, 2), (True, 1), (False, 0)]


def test_the_redis_cache_is_shared_between_two_clients():
    _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    a, b = RedisCache(REDIS, {"KEY_PREFIX": prefix}), RedisCache(REDIS, {"KEY_PREFIX": prefix})
    a.set("lock", "server-a", 30)
    assert b.get("lock") == "server-a"
    assert not b.add("lock", "server-b", 30)
    b.delete("lock")
