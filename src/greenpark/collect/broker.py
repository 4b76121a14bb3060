"""A throwaway Mosquitto broker on 127.0.0.1 (Debian package ``mosquitto``) for the demo, the tests
and the benchmark: a free port, a config in a temporary folder, persistence on (so that a restart
keeps persistent sessions and their queued messages), no limit on queued QoS 1 messages.

A production broker needs the same two settings for greenpark's no-loss guarantee::

    persistence true                 # sessions and queued messages survive a broker restart
    max_queued_messages 0            # default 1000: beyond it Mosquitto DROPS QoS 1 messages for a
                                     # subscriber that is down or slow
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["Mosquitto", "free_port", "mosquitto_path"]


def mosquitto_path() -> str | None:
    """The mosquitto executable (PATH, then /usr/sbin), or None."""
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).is_file()), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """``with Mosquitto() as b: b.url`` — started on a free port; :meth:`restart` keeps its port and data."""

    def __init__(self, folder: str | Path | None = None, port: int | None = None, *, anonymous: bool = True,
                 listener_conf: str = ""):
        """``anonymous`` False with ``listener_conf`` (e.g. ``password_file``, ``certfile``,
        ``keyfile`` lines) for a broker with passwords and TLS."""
        exe = mosquitto_path()
        if exe is None:
            raise FileNotFoundError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.exe = exe
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="greenpark-mqtt-")
        self.folder = Path(folder or self._tmp.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{listener_conf}"
            f"allow_anonymous {'true' if anonymous else 'false'}\n"
            f"user {getpass.getuser()}\n"  # as root, mosquitto would switch to user mosquitto: keep ours (files)
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "log_dest none\n")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 10.0) -> Mosquitto:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with status {self.proc.returncode} (port {self.port})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"mosquitto did not listen on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        """Stop it (SIGTERM: it saves its persistence file first)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
