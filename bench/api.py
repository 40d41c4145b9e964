"""API latency through the served topology, next to a bare Django view on the same stack.

Run:  .venv/bin/python bench/api.py                 (50 clients, 3 rounds of 10 s per target)
      .venv/bin/python bench/api.py --clients 10 --duration 5 --rounds 2

In one run: a throw-away database with the demo organisation, ``manage.py serve`` (nginx →
gunicorn for HTTP, Daphne for sockets) with bench-only bare views (bench/urls_api.py), and
wrk (Debian package) at ``--clients`` concurrent connections against

- ``/api/me/`` and ``/api/workbench/`` (the 工作台 list) with a token, and
- ``/bench/bare/me/`` and ``/bench/bare/workbench/``: plain Django views returning the very
  bytes those endpoints returned (no auth, DRF, database) — the baseline;

each through the proxy (HTTP workers) and, for comparison, straight at one Daphne (how
OfficeHub served HTTP before). Targets alternate order per round; the table reports the
range over rounds. wrk shares the 2 cores with everything it measures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DEFAULT_DATABASE_URL,
    ROOT,
    Served,
    bench_env,
    create_database,
    drop_database,
    require_wrk,
)

BENCH_DB = "officehub_bench_api"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--no-daphne", action="store_true", help="skip the straight-at-Daphne comparison")
    parser.add_argument("--database-url", default=os.environ.get("OFFICEHUB_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("OFFICEHUB_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout


def wrk(binary: str, url: str, *, clients: int, duration: int, token: str | None) -> dict[str, float]:
    argv = [binary, "-t2", f"-c{clients}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if token:
        argv += ["-H", f"Authorization: Token {token}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    latency = {m[1]: float(m[2]) * UNITS[m[3]] for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors[1]} non-2xx responses\n{output}")
    return {"p50": latency["50"], "p99": latency["99"], "rps": rate}


def main() -> None:
    args = parse_args()
    binary = require_wrk()
    database_url = create_database(args.database_url, BENCH_DB, keep=args.keep_db)
    env = bench_env(database_url, redis_url=args.redis_url, prefix="bench-api", settings_module="bench.settings_api")
    print("seeding the demo organisation…", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")
    token = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "wangfang"))[1]
    try:
        with Served(env, http_workers=args.http_workers) as served:
            bodies = ROOT / "var" / "bench-api-bodies"
            bodies.mkdir(parents=True, exist_ok=True)
            for name, path in (("me", "/api/me/"), ("workbench", "/api/workbench/")):
                request = urllib.request.Request(served.url + path, headers={"Authorization": f"Token {token}"})  # noqa: S310
                with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback
                    (bodies / f"{name}.json").write_bytes(response.read())
            stacks = {"proxy → gunicorn": served.url}
            if not args.no_daphne:
                stacks["Daphne direct"] = f"http://127.0.0.1:{served.socket_ports()[0]}"
            targets = [
                (stack, label, base + path, auth)
                for stack, base in stacks.items()
                for label, path, auth in (
                    ("/api/me/", "/api/me/", True),
                    ("bare me", "/bench/bare/me/", False),
                    ("/api/workbench/", "/api/workbench/", True),
                    ("bare workbench", "/bench/bare/workbench/", False),
                )
            ]
            results: dict[tuple[str, str], list[dict[str, float]]] = {}
            for _stack, _label, url, auth in targets:  # warm-up: pools, imports, caches
                wrk(binary, url, clients=args.clients, duration=2, token=token if auth else None)
            for round_index in range(args.rounds):
                ordered = targets if round_index % 2 == 0 else list(reversed(targets))
                for stack, label, url, auth in ordered:
                    figures = wrk(binary, url, clients=args.clients, duration=args.duration, token=token if auth else None)
                    results.setdefault((stack, label), []).append(figures)
                    print(f"  round {round_index + 1} {stack:<18} {label:<16} p50 {figures['p50']:7.1f} ms  "
                          f"p99 {figures['p99']:7.1f} ms  {figures['rps']:7.0f} req/s", flush=True)
    finally:
        if not args.keep_db:
            drop_database(args.database_url, BENCH_DB)
    print(f"\n{args.clients} concurrent clients, {args.rounds} rounds x {args.duration} s, {os.cpu_count()} cores")
    print(f"{'stack':<18} {'endpoint':<16} {'p50 ms':>14} {'p99 ms':>16} {'req/s':>14} {'p50 ÷ bare':>11}")

    def span(values: list[float], fmt: str) -> str:
        return f"{min(values):{fmt}}–{max(values):{fmt}}"

    for (stack, label), runs in results.items():
        bare_label = "bare me" if "me" in label else "bare workbench"
        bare = results[(stack, bare_label)]
        ratio = statistics.median(r["p50"] for r in runs) / statistics.median(r["p50"] for r in bare)
        print(f"{stack:<18} {label:<16} {span([r['p50'] for r in runs], '.1f'):>14} "
              f"{span([r['p99'] for r in runs], '.1f'):>16} {span([r['rps'] for r in runs], '.0f'):>14} {ratio:>10.2f}×")


if __name__ == "__main__":
    main()
