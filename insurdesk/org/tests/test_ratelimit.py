"""API rate limits: a fixed window per token, per address without one, shared by server processes."""

import pytest
from django.core.cache.backends.filebased import FileBasedCache

from insurdesk.api import ratelimit
from insurdesk.api.tests.client import ApiClient, as_user, error_codes


@pytest.fixture
def limit(settings):
    settings.INSURDESK_API_RATE_LIMIT = 3
    settings.INSURDESK_API_RATE_WINDOW = 60
    return 3


def test_the_default_is_300_a_minute_from_the_environment(settings):
    import os

    assert int(os.environ.get("INSURDESK_API_RATE_LIMIT", "300")) == settings.INSURDESK_API_RATE_LIMIT
    assert settings.INSURDESK_API_RATE_WINDOW == 60


def test_a_token_over_its_limit_gets_429_with_retry_after(make_user, limit):
    api = as_user(make_user("clerk"))
    answers = [api.get("/customers") for _ in range(limit + 1)]
    assert [a.status_code for a in answers] == [200] * limit + [429]
    over = answers[-1]
    assert error_codes(over) == {("", "rate_limited")}
    assert "请求过于频繁" in over.json()["errors"][0]["message"]
    assert 1 <= int(over["Retry-After"]) <= 60
    assert answers[0]["X-RateLimit-Limit"] == "3" and answers[0]["X-RateLimit-Remaining"] == "2"


def test_each_token_has_its_own_count(make_user, limit):
    first, second = as_user(make_user("clerk")), as_user(make_user("clerk"))
    for _ in range(limit):
        first.get("/customers")
    assert first.get("/customers").status_code == 429
    assert second.get("/customers").status_code == 200


def test_calls_without_a_token_are_counted_per_address(db, limit):
    here, there = ApiClient(), ApiClient()
    there.client.defaults["REMOTE_ADDR"] = "10.0.0.8"
    for _ in range(limit):
        here.post("/auth/token", {"username": "x", "password": "y"})
    assert here.post("/auth/token", {"username": "x", "password": "y"}).status_code == 429
    assert there.post("/auth/token", {"username": "x", "password": "y"}).status_code == 401


def test_pages_are_not_counted(client, make_user, limit):
    client.force_login(make_user("clerk"))
    assert all(client.get("/customers/").status_code == 200 for _ in range(limit + 2))


def test_a_new_window_starts_a_new_count(db, limit):
    for _ in range(limit):
        assert ratelimit.hit("k", limit=limit, window=60, now=1000.0)[0]
    assert not ratelimit.hit("k", limit=limit, window=60, now=1019.0)[0]
    allowed, remaining, reset = ratelimit.hit("k", limit=limit, window=60, now=1021.0)
    assert allowed and remaining == limit - 1 and reset == 59


def test_processes_sharing_the_file_cache_share_the_counts(tmp_path, settings):
    """Two cache objects on one directory stand for two server processes."""
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        },
    }
    assert ratelimit.hit("shared", limit=2, window=60, now=5.0)[0]
    other_process = FileBasedCache(str(tmp_path), {})
    slot = "ratelimit:60:0:shared"  # one entry per caller and window: the window starting at 0
    assert other_process.get(slot) == 1
    other_process.incr(slot)
    assert not ratelimit.hit("shared", limit=2, window=60, now=6.0)[0]


def test_the_configured_cache_is_a_file_cache_under_the_data_directory():
    from django.conf import settings

    from insurdesk import settings as project

    conf = project.CACHES[settings.INSURDESK_RATE_LIMIT_CACHE]
    assert conf["BACKEND"].endswith("FileBasedCache")
    assert conf["LOCATION"].startswith(str(project.DATA_DIR))
