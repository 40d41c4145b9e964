"""The production topology on one machine, started and supervised by ``manage.py serve``.

```
            :8000  nginx (front proxy)
              ├── /static/   files from STATIC_ROOT (collectstatic), cached
              ├── /ws/       least-connections over N Daphne processes   (sockets only)
              └── /          M gunicorn workers x T threads, WSGI       (pages, API)
 K run_worker processes (jobs claimed with SKIP LOCKED); PostgreSQL, Redis, Elasticsearch
```

Why these servers (measured in bench/api.py): Django's views are synchronous, and under an
ASGI server each request hops from the event loop to a thread and back; gunicorn's threaded
WSGI workers run them directly, with the psycopg pool per process. Sockets need ASGI, so
Daphne keeps them — and only them, so a burst of logins (PBKDF2 is ~0.3 s of CPU each) or
a DOCX render never sits on a socket process's loop. HTTP and background workers also run
at a lower CPU priority (``nice``) than the socket processes and the proxy: on a busy
machine, message delivery wins.

Every child is restarted when it exits (``kill -9`` included) with a short backoff; socket
clients of a killed Daphne reconnect through the proxy to the others and resume by ``seq``.
Without nginx, PostgreSQL or Redis (a newcomer's embedded fallback) there is one Daphne
serving everything, as the in-memory channel layer and SQLite allow only one process.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

NGINX = "/usr/sbin/nginx"
RESTART_BACKOFF_SECONDS = (0.5, 1, 2, 5, 10)


@dataclass(frozen=True)
class Topology:
    host: str
    port: int
    sockets: int
    http_workers: int
    http_threads: int
    workers: int
    backend_port: int
    static_root: Path
    run_dir: Path
    proxy: bool
    asgi_application: str = "officehub.asgi:application"

    @property
    def http_port(self) -> int:
        return self.backend_port

    def socket_ports(self) -> list[int]:
        return [self.backend_port + 1 + i for i in range(self.sockets)]


def default_sizes(cpus: int | None = None) -> tuple[int, int, int]:
    """(socket processes, HTTP workers, background workers) for this machine."""
    cpus = cpus or os.cpu_count() or 1
    return max(2, cpus), max(2, cpus), 1


JSON_ERRORS = {
    # Errors the proxy answers itself, in the API's one format: nginx's code -> (status
    # sent, code, message). 494 is nginx's own "request header too large".
    400: (400, "request.malformed", "请求格式有误。"),
    413: (413, "request.too_large", "请求体过大。"),
    414: (414, "request.uri_too_long", "请求地址过长。"),
    494: (431, "request.headers_too_large", "请求头过大。"),
    502: (502, "service.unavailable", "服务暂时不可用，请稍后重试。"),
    503: (503, "service.unavailable", "服务暂时不可用，请稍后重试。"),
    504: (504, "service.timeout", "服务响应超时，请稍后重试。"),
}


def nginx_config(topology: Topology) -> str:
    run = topology.run_dir
    user = "user root root;" if os.geteuid() == 0 else ""
    socket_servers = "\n".join(
        f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s;" for port in topology.socket_ports()
    )
    # URI error pages, not named locations: a request refused while its request line is
    # read (414) has no URI of its own to carry into a named location.
    error_pages = "\n".join(f"        error_page {status} /__officehub_error/{status}.json;" for status in JSON_ERRORS)
    error_locations = "\n".join(
        f"""        location = /__officehub_error/{status}.json {{
            internal;
            default_type application/json;
            add_header Cache-Control "no-store" always;
            return {sent} '{{"code": "{code}", "message": "{message}", "extra": {{}}}}';
        }}"""
        for status, (sent, code, message) in JSON_ERRORS.items()
    )
    return f"""# Written by `manage.py serve` on every start; edits are overwritten.
{user}
worker_processes auto;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 16384; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nodelay on;
    client_body_temp_path {run}/nginx-body;
    proxy_temp_path {run}/nginx-proxy;
    fastcgi_temp_path {run}/nginx-fastcgi;
    uwsgi_temp_path {run}/nginx-uwsgi;
    scgi_temp_path {run}/nginx-scgi;
    # Uploads: attachments and DOCX imports are limited to 20 MB by the app.
    client_max_body_size 25m;
    # A request line or header beyond 16 KB is refused here (414/400), not by a backend.
    large_client_header_buffers 4 16k;

    upstream officehub_http {{
        server 127.0.0.1:{topology.http_port};
        keepalive 64;
    }}
    # Long-lived sockets: new ones go to the Daphne with the fewest open; a Daphne that
    # is down is skipped for 3 s after one failure.
    upstream officehub_ws {{
        least_conn;
{socket_servers}
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    server {{
        listen {topology.host}:{topology.port} backlog=4096;
{error_pages}

        location /ws/ {{
            proxy_pass http://officehub_ws;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}

        location /static/ {{
            alias {topology.static_root}/;
            gzip_static on;
            expires 30d;
            add_header Cache-Control "public";
            add_header X-Content-Type-Options "nosniff";
        }}

        location / {{
            proxy_pass http://officehub_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 120s;
            proxy_intercept_errors off;
        }}

{error_locations}
    }}
}}
"""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    nice: int = 0
    ready_port: int | None = None
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    _log: TextIO | None = field(default=None, repr=False)

    def start(self) -> None:
        assert self.log_path is not None
        self._log = self.log_path.open("a", encoding="utf-8")
        self._log.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(self.argv)}\n")
        self._log.flush()
        nice = self.nice

        def lower_priority() -> None:
            os.setsid()  # own process group: Ctrl-C on the terminal reaches the supervisor only
            _die_with_parent()
            if nice:
                os.nice(nice)

        self.process = subprocess.Popen(  # fixed argv built above
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=lower_priority
        )
        self.started_at = time.monotonic()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)
            self.process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the supervisor dies, even by ``kill -9``."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def build_children(topology: Topology, *, python: str, manage: Path, base_env: dict[str, str]) -> list[Child]:
    """The processes of ``topology``; each child's log goes to ``run_dir/<name>.log``."""
    env = dict(base_env)
    children: list[Child] = []
    bin_dir = Path(python).parent
    if not topology.proxy:
        children.append(
            Child("daphne", [str(bin_dir / "daphne"), "-b", topology.host, "-p", str(topology.port),
                             topology.asgi_application], env, ready_port=topology.port)
        )
    else:
        env["OFFICEHUB_BEHIND_PROXY"] = "true"
        for index, port in enumerate(topology.socket_ports(), start=1):
            children.append(
                Child(
                    f"daphne-{index}",
                    [str(bin_dir / "daphne"), "--proxy-headers", "-b", "127.0.0.1", "-p", str(port),
                     "--application-close-timeout", "5", topology.asgi_application],
                    env,
                    ready_port=port,
                )
            )
        children.append(
            Child(
                "http",
                [str(bin_dir / "gunicorn"), "officehub.wsgi:application",
                 "--bind", f"127.0.0.1:{topology.http_port}",
                 "--worker-class", "gthread", "--workers", str(topology.http_workers),
                 "--threads", str(topology.http_threads),
                 "--timeout", "120", "--graceful-timeout", "10", "--keep-alive", "75",
                 "--forwarded-allow-ips", "127.0.0.1", "--access-logfile", "-"],
                env,
                nice=5,
                ready_port=topology.http_port,
            )
        )
        children.append(
            Child("nginx", [NGINX, "-c", str(topology.run_dir / "nginx.conf"), "-g", "daemon off;"], env,
                  ready_port=topology.port)
        )
    for index in range(1, topology.workers + 1):
        children.append(Child(f"worker-{index}", [python, str(manage), "run_worker"], env, nice=5))
    for child in children:
        child.log_path = topology.run_dir / f"{child.name}.log"
    return children


class Writer(Protocol):
    """Where the supervisor reports: a text stream or a management command's stdout."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...


class Supervisor:
    """Starts the children, restarts any that exits, stops them all on SIGTERM/SIGINT."""

    def __init__(self, children: list[Child], *, out: Writer = sys.stdout) -> None:
        self.children = children
        self.out = out
        self.stopping = False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def start(self, *, ready_timeout: float = 60.0) -> None:
        # Backends first, the proxy last: it must not answer before they can.
        for child in self.children:
            child.start()
            if child.ready_port is not None:
                self._wait_ready(child, ready_timeout)

    def _wait_ready(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process is not None and child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited during start-up:\n{tail(child.log_path)}")
            if port_open("127.0.0.1", child.ready_port or 0):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{child.name} did not listen on {child.ready_port} within {timeout:.0f} s")

    def run_forever(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        while not self.stopping:
            for child in self.children:
                if self.stopping or child.process is None or child.process.poll() is None:
                    continue
                code = child.process.returncode
                # A child that ran for a minute starts afresh; one that keeps dying waits longer.
                if time.monotonic() - child.started_at > 60:
                    child.restarts = 0
                delay = RESTART_BACKOFF_SECONDS[min(child.restarts, len(RESTART_BACKOFF_SECONDS) - 1)]
                self.say(f"!!! {child.name} (pid {child.process.pid}) exited with {code}; restarting in {delay:g} s")
                child.wait(0)
                time.sleep(delay)
                if self.stopping:
                    break
                child.restarts += 1
                child.start()
                self.say(f"  {child.name} pid {child.process.pid if child.process else '-'}")
            time.sleep(0.2)
        self.stop()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def stop(self) -> None:
        # The proxy first, so no new request reaches a backend that is going away.
        for child in reversed(self.children):
            child.stop()
        for child in reversed(self.children):
            child.wait(15)


def tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def proxy_available() -> bool:
    return Path(NGINX).exists() and shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is not None
