"""How the CLI finds a running ``greenpark serve`` that holds a DuckDB store (issue 15 item 8).

The server writes a *discovery file* beside the database (``<db>.server.json``, mode 0600: only
the user who runs the server can read it) with its URL, process id and a secret made for this
run, and deletes it when it stops. A CLI command that finds the store locked reads the file; a
file whose process is gone (the server was killed) is ignored. Read commands then ask the
server for a snapshot (``POST /api/v1/local/snapshot``, answered only to this machine and only
with the secret) and read that; write commands say which server to use or stop.

Standard library and greenpark.errors only: every layer may use it, and ``greenpark --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from greenpark.errors import StoreUnavailable

__all__ = ["SECRET_HEADER", "SNAPSHOT_PATH", "DiscoveryError", "Server", "announce", "file_for", "find",
           "request_snapshot", "withdraw"]

SUFFIX = ".server.json"
#: the header that carries the discovery file's secret
SECRET_HEADER = "X-Greenpark-Local-Secret"
#: the server's snapshot endpoint, under its URL
SNAPSHOT_PATH = "/api/v1/local/snapshot"


class DiscoveryError(StoreUnavailable):
    """The running server could not be asked (it does not answer, or refused)."""


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    secret: str
    db: str


def file_for(db: str | Path) -> Path:
    """The discovery file of the DuckDB store ``db``."""
    return Path(os.path.abspath(db) + SUFFIX)


def announce(db: str | Path, url: str, secret: str) -> Path:
    """Write the discovery file of this process for ``db`` (replacing a stale one), mode 0600."""
    target = file_for(db)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": url, "pid": os.getpid(), "secret": secret, "db": os.path.abspath(db)}, fh)
    os.replace(tmp, target)
    return target


def withdraw(db: str | Path) -> None:
    """Delete the discovery file of ``db`` if this process wrote it."""
    target = file_for(db)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(target.read_text(encoding="utf-8")).get("pid") == os.getpid():
            target.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except OSError:
        return False
    return True


def find(db: str | Path) -> Server | None:
    """The server announced for ``db``, or None (no file, unreadable, or its process is gone)."""
    try:
        data = json.loads(file_for(db).read_text(encoding="utf-8"))
        server = Server(url=str(data["url"]).rstrip("/"), pid=int(data["pid"]), secret=str(data["secret"]),
                        db=str(data["db"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if server.db != os.path.abspath(db) or not _alive(server.pid):
        return None
    return server


def request_snapshot(server: Server, timeout: float = 600.0) -> str:
    """Ask ``server`` for a snapshot of its store; the path of the copy (the caller deletes it)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server.url + SNAPSHOT_PATH, data=b"", method="POST",
                                 headers={SECRET_HEADER: server.secret})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (the server's own http URL)
            path = json.loads(resp.read().decode("utf-8"))["path"]
    except urllib.error.HTTPError as exc:
        raise DiscoveryError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise DiscoveryError(str(getattr(exc, "reason", exc))) from None
    if not Path(path).is_file():
        raise DiscoveryError(f"the snapshot {path} is not readable here")
    return path
