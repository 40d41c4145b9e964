"""What the benchmarks share: a throw-away database, free ports, and the served topology."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://officehub:officehub@127.0.0.1:5432/officehub"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_block(size: int) -> int:
    """A base port with ``size`` free ports after it (checked, not reserved)."""
    for _ in range(200):
        base = free_port()
        if base + size < 65000 and all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free port block")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def create_database(base_url: str, name: str, *, keep: bool = False) -> str:
    import psycopg

    server, _, _ = base_url.rpartition("/")
    with psycopg.connect(base_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not keep:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_env(database_url: str, *, redis_url: str, prefix: str, settings_module: str = "officehub.settings") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OFFICEHUB_DEBUG": "false",
            "OFFICEHUB_HTTPS": "false",
            "OFFICEHUB_SECRET_KEY": env.get("OFFICEHUB_BENCH_SECRET", "b" * 64),
            "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OFFICEHUB_DATABASE_URL": database_url,
            "OFFICEHUB_REDIS_URL": redis_url,
            "OFFICEHUB_CHANNEL_PREFIX": prefix,
            "OFFICEHUB_API_RATE_USER": "100000000/min",
            "OFFICEHUB_MESSAGE_RATE_PER_MINUTE": "10000000",
            "OFFICEHUB_STATIC_MANIFEST": "false",
            "OFFICEHUB_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": settings_module,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


class Served:
    """``manage.py serve`` (the README's topology) on free ports, stopped on exit."""

    def __init__(self, env: dict[str, str], *, sockets: int = 2, http_workers: int = 2, workers: int = 0,
                 extra: list[str] | None = None) -> None:
        self.port = free_port_block(1)
        self.backend_port = free_port_block(sockets + 2)
        argv = [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(self.port),
                "--backend-port", str(self.backend_port), "--sockets", str(sockets),
                "--http-workers", str(http_workers), "--workers", str(workers), *(extra or [])]
        self.log_path = ROOT / "var" / f"bench-serve-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            if "OfficeHub is serving" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("serve did not come up within 120 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> dict[str, int]:
        """Child name -> pid, as serve printed them."""
        return {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\S+)\s+pid (\d+)$", self.log_path.read_text(), re.M)}

    def socket_ports(self) -> list[int]:
        return [self.backend_port + 1 + i for i in range(len([n for n in self.pids() if n.startswith("daphne")]))]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed (Debian package 'wrk')")
    return wrk
