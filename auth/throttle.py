"""Log-in throttling with Flask-Limiter's storage and atomic counters.

Two limits, each a fixed window counted in the limiter's storage (in-process memory by default,
Redis when CACHE_REDIS_URL is set, so every gunicorn worker counts together):

- per (account, client address): tries at one account from one address (LOGIN_LIMIT,
  default 5 per 15 minutes). An attacker elsewhere uses up only their own address's count, so the
  owner can still log in from theirs.
- per client address: tries at any account from one address (LOGIN_LIMIT_ADDRESS, default
  30 per 15 minutes), against password spraying; an office behind one proxy shares it.

A try is reserved *before* the password is checked (one atomic increment per limit), so parallel
requests cannot get more tries than the limit. A correct password gives its try back: the
account's count starts again and the address's count goes down by one, so only failures count.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger("ishikawa.auth")

DEFAULT_ACCOUNT_LIMIT = "5 per 15 minutes"
DEFAULT_ADDRESS_LIMIT = "30 per 15 minutes"
NAMESPACE = "ishikawa-login"
RETRY_S = 30.0


@dataclass
class Verdict:
    allowed: bool
    wait_s: float = 0.0  # when refused: seconds until a try is possible again
    failures: int = 0  # tries used at this account from this address (for the log)


class LoginThrottle:
    """Kept in `server.extensions["ishikawa.login_throttle"]`; see the module text."""

    def __init__(self, server, storage_uri: str = "", account_limit: str = "", address_limit: str = ""):
        self.account_limits: list[RateLimitItem] = parse_many(account_limit or DEFAULT_ACCOUNT_LIMIT)
        self.address_limits: list[RateLimitItem] = parse_many(address_limit or DEFAULT_ADDRESS_LIMIT)
        options = {"socket_connect_timeout": 2, "socket_timeout": 2} if storage_uri.startswith("redis") else {}
        # No default limits: the limiter only provides the storage and the strategy here.
        self.limiter = Limiter(get_remote_address, storage_uri=storage_uri or "memory://",
                               storage_options=options, strategy="fixed-window", key_prefix=NAMESPACE)
        self.limiter.init_app(server)
        self._fallback = FixedWindowRateLimiter(MemoryStorage())
        self._down_until = 0.0  # while the storage is unreachable, ask it again only every RETRY_S

    @property
    def backend(self) -> str:
        return type(self.limiter.storage).__name__

    def _strategy(self):
        return self.limiter.limiter

    def _run(self, fn):
        """`fn(strategy)` through the configured storage; while it is unreachable (Redis down), this
        process's own counters keep the limits instead of letting every try through or refusing
        everyone, and the storage is asked again every RETRY_S (not at every try, each waiting
        for a time-out)."""
        if time.monotonic() >= self._down_until:
            try:
                return fn(self._strategy())
            except Exception as exc:  # the storage's connection errors (redis.ConnectionError, …)
                self._down_until = time.monotonic() + RETRY_S
                log.error("log-in throttling storage unreachable, counting in this process for %.0f s: %s",
                          RETRY_S, exc)
        return fn(self._fallback)

    def _call(self, name: str, *args, **kwargs):
        return self._run(lambda strategy: getattr(strategy, name)(*args, **kwargs))

    def _refund(self, item: RateLimitItem, *ids: str) -> None:
        def give_back(strategy):
            key = item.key_for(*ids)
            if strategy.storage.get(key) > 0:
                strategy.storage.incr(key, item.get_expiry(), amount=-1)

        self._run(give_back)

    @staticmethod
    def _ids(email: str, addr: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (NAMESPACE, "account", email, addr), (NAMESPACE, "address", addr)

    def _wait(self, item: RateLimitItem, ids) -> float:
        stats = self._call("get_window_stats", item, *ids)
        return max(1.0, stats.reset_time - time.time())

    def begin(self, email: str, addr: str) -> Verdict:
        """Reserve one try for `email` from `addr`; refused when a limit is used up."""
        account_ids, address_ids = self._ids(email, addr)
        taken: list[tuple[RateLimitItem, tuple]] = []
        for items, ids in ((self.address_limits, address_ids), (self.account_limits, account_ids)):
            for item in items:
                if not self._call("hit", item, *ids):
                    wait = self._wait(item, ids)
                    for done_item, done_ids in taken:  # a refused try checks no password: it costs nothing
                        self._refund(done_item, *done_ids)
                    return Verdict(False, wait, self.failures(email, addr))
                taken.append((item, ids))
        return Verdict(True, 0.0, self.failures(email, addr))

    def failures(self, email: str, addr: str) -> int:
        account_ids, _ = self._ids(email, addr)
        item = self.account_limits[0]
        return min(item.amount, item.amount - self._call("get_window_stats", item, *account_ids).remaining)

    def succeeded(self, email: str, addr: str) -> None:
        """The right password: this account's count from this address starts again, and the
        address's count gets this try back."""
        account_ids, address_ids = self._ids(email, addr)
        for item in self.account_limits:
            self._call("clear", item, *account_ids)
        for item in self.address_limits:
            self._refund(item, *address_ids)


def init_throttle(server, settings) -> LoginThrottle:
    throttle = LoginThrottle(server, settings.cache_redis_url, settings.login_limit, settings.login_limit_address)
    server.extensions["ishikawa.login_throttle"] = throttle
    return throttle
