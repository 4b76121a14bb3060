"""Throttling of password guessing at ``POST /api/v1/auth/login``.

Failed logins are counted in a sliding window (:attr:`Settings.login_window`) per username and per
client address. Once a username has :attr:`Settings.login_max_failures` failures in the window, its
logins get 429 with a ``Retry-After`` header — the right password included — until the oldest of
those failures leaves the window; the same for an address and
:attr:`Settings.login_max_failures_per_address`. A successful login clears its username's count
(not its address's: logging in to one's own account must not reset a guesser's budget).

The counts live in the memory of the server process: they are lost on restart and not shared
between processes (several servers on one PostgreSQL store each count their own). Each failure is
also recorded in the audit log (``auth.login_failed``), which is shared and permanent.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from greenpark.api.security import Settings


class LoginThrottle:
    """Failed-login counts per username and per client address, in a sliding window.

    ``clock`` returns seconds on a monotonic scale (default :func:`time.monotonic`; tests pass their own).
    ``max_keys`` bounds the memory: past it, keys whose failures have all left the window are
    dropped, then the oldest keys.
    """

    def __init__(self, max_per_user: int, max_per_address: int, window_s: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000):
        self.max_per_user, self.max_per_address, self.window_s = max_per_user, max_per_address, window_s
        self.clock = clock
        self.max_keys = max_keys
        self._fails: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> LoginThrottle:
        return cls(settings.login_max_failures, settings.login_max_failures_per_address,
                   settings.login_window.total_seconds(), clock=clock)

    def _keys(self, username: str, address: str | None) -> list[tuple[tuple[str, str], int]]:
        keys = []
        if self.max_per_user > 0:
            keys.append((("user", username), self.max_per_user))
        if self.max_per_address > 0 and address:
            keys.append((("address", address), self.max_per_address))
        return keys

    def _recent(self, key: tuple[str, str], now: float) -> deque[float] | None:
        q = self._fails.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._fails[key]
            return None
        return q

    def retry_after(self, username: str, address: str | None) -> tuple[int, str] | None:
        """(seconds to wait, 'username' or 'address') when a login must be refused, else None."""
        now = self.clock()
        worst = None
        with self._lock:
            for key, limit in self._keys(username, address):
                q = self._recent(key, now)
                if q is not None and len(q) >= limit:
                    # the failure whose leaving brings the count below the limit
                    wait = max(1, math.ceil(q[-limit] + self.window_s - now))
                    if worst is None or wait > worst[0]:
                        worst = (wait, "username" if key[0] == "user" else "address")
        return worst

    def failed(self, username: str, address: str | None) -> tuple[bool, dict[str, int]]:
        """Count a failed login. Returns (whether it brought the username or the address to its
        limit, the failures now in the window: {"username": n, "address": n})."""
        now = self.clock()
        reached, counts = False, {}
        with self._lock:
            if len(self._fails) >= self.max_keys:
                self._prune(now)
            for key, limit in self._keys(username, address):
                q = self._recent(key, now)
                if q is None:
                    q = self._fails[key] = deque()
                q.append(now)
                counts["username" if key[0] == "user" else "address"] = len(q)
                reached = reached or len(q) >= limit
        return reached, counts

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(("user", username), None)

    def _prune(self, now: float) -> None:
        for key in list(self._fails):
            self._recent(key, now)
        while len(self._fails) >= self.max_keys:
            del self._fails[next(iter(self._fails))]
