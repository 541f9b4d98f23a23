"""The shared cache (flask-caching): SimpleCache in one process, Redis when CACHE_REDIS_URL is set.
Below pages and api alike, so both can keep what every viewer of a moment shares."""
from flask_caching import Cache

cache = Cache()


def init_cache(server, settings) -> None:
    if settings.cache_redis_url:
        config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": settings.cache_redis_url,
                  "CACHE_KEY_PREFIX": "ishikawa-map:"}
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 2000}
    config["CACHE_DEFAULT_TIMEOUT"] = 300
    cache.init_app(server, config=config)
