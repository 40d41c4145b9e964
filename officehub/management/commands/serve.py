"""``manage.py serve``: run OfficeHub's production topology on this machine (officehub/topology.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from officehub.topology import (
    Supervisor,
    Topology,
    build_children,
    default_sizes,
    nginx_config,
    proxy_available,
)


class Command(BaseCommand):
    help = "运行 OfficeHub：前置代理 + 多个 Daphne（WebSocket）+ gunicorn（HTTP）+ 后台任务进程，并在退出时自动重启。"

    def add_arguments(self, parser: CommandParser) -> None:
        sockets, http, workers = default_sizes()
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="the proxy's public port")
        parser.add_argument("--sockets", type=int, default=sockets, help="Daphne processes for /ws/")
        parser.add_argument("--http-workers", type=int, default=http, help="gunicorn worker processes")
        parser.add_argument("--http-threads", type=int, default=4, help="threads per gunicorn worker")
        parser.add_argument("--workers", type=int, default=workers, help="run_worker processes (0: none)")
        parser.add_argument("--backend-port", type=int, default=None,
                            help="first loopback port of the backends (default: port + 100)")
        parser.add_argument("--no-proxy", action="store_true", help="one Daphne serving everything on --port")
        parser.add_argument("--asgi", default="officehub.asgi:application", help=argparse.SUPPRESS)  # bench/ only

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]["ENGINE"]
        reasons = []
        if options["no_proxy"]:
            reasons.append("--no-proxy")
        if not proxy_available():
            reasons.append("nginx or gunicorn is not installed")
        if "postgresql" not in database:
            reasons.append("SQLite allows one process")
        if not getattr(settings, "REDIS_URL", None):
            reasons.append("the in-memory channel layer allows one process")
        run_dir = Path(settings.VAR_DIR) / "run" / f"serve-{options['port']}"
        run_dir.mkdir(parents=True, exist_ok=True)
        topology = Topology(
            host=options["host"],
            port=options["port"],
            sockets=max(1, options["sockets"]),
            http_workers=max(1, options["http_workers"]),
            http_threads=max(1, options["http_threads"]),
            workers=max(0, options["workers"]),
            backend_port=options["backend_port"] or options["port"] + 100,
            static_root=Path(settings.STATIC_ROOT),
            run_dir=run_dir,
            proxy=not reasons,
            asgi_application=options["asgi"],
        )
        if topology.proxy:
            (run_dir / "nginx.conf").write_text(nginx_config(topology), encoding="utf-8")
        children = build_children(topology, python=sys.executable, manage=Path(settings.BASE_DIR) / "manage.py",
                                  base_env=dict(os.environ))
        supervisor = Supervisor(children, out=self.stdout)
        try:
            supervisor.start()
        except RuntimeError as exc:
            supervisor.stop()
            raise CommandError(str(exc)) from None
        url = f"http://{topology.host}:{topology.port}/"
        if topology.proxy:
            layout = [
                f"  proxy:    nginx on {url} (config {run_dir / 'nginx.conf'})",
                f"  sockets:  {topology.sockets} Daphne on 127.0.0.1:{', '.join(map(str, topology.socket_ports()))} (/ws/)",
                f"  HTTP:     gunicorn {topology.http_workers} workers x {topology.http_threads} threads"
                f" on 127.0.0.1:{topology.http_port}",
            ]
        else:
            layout = [f"  one Daphne on {url} serving everything ({'; '.join(reasons)})"]
        layout.append(f"  workers:  {topology.workers} run_worker")
        layout.append(f"  logs:     {run_dir}/<process>.log; DEBUG is {'on' if settings.DEBUG else 'off'}")
        self.stdout.write("OfficeHub is serving:\n" + "\n".join(layout) + "\n")
        for child in children:
            self.stdout.write(f"  {child.name:<10} pid {child.process.pid if child.process else '-'}\n")
        self.stdout.flush()
        supervisor.run_forever()
