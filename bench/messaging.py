"""User-socket benchmark: N authenticated sockets on a live Daphne + Redis, fan-out in a
group of M members, next to a bare Channels echo fan-out under the same load.

Run:  .venv/bin/python bench/messaging.py                       (modest defaults, ~1–2 min)
      .venv/bin/python bench/messaging.py --sockets 2000 --group 500 --rate 5 --duration 30

What it does, in one run:

1. creates a throw-away PostgreSQL database (``officehub_bench_messaging``), migrates it,
   creates N users, one group conversation with the first M as members, and a Django
   session per user written straight into the session table (no login round-trips);
2. starts Daphne (``bench.asgi_messaging:application``: production routes plus a bench-only
   ``/bench/echo/`` consumer) against that database and the Redis channel layer, with its
   own channel prefix;
3. **chat**: opens N ``/ws/`` sockets with the session cookies (M in the group), measures
   Daphne's resident memory before and after, then sends ``rate`` messages per second for
   ``duration`` seconds through the ``send`` frame of a few member sockets (stored, seq'd,
   fanned out on commit) and records, at every member socket, each delivery's latency
   (send → receive, one clock: the client process), duplicates, out-of-order arrivals and
   losses; afterwards every socket with a gap runs ``resume`` and the losses that remain
   are reported too (the guarantee: zero);
4. **echo**: a fresh Daphne, N sockets on ``/bench/echo/`` (M joined to one group), the same
   message rate; each frame is group_sent to the M members with no auth, database or JSON;
5. prints one table and drops the database (``--keep-db`` keeps it).

Latency includes the client process's own scheduling: the clients share the 2 cores with
Daphne, Redis and PostgreSQL, so absolute figures are pessimistic; the comparison with the
echo baseline is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "officehub_bench_messaging"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=400, help="sockets held (N); target 2000")
    parser.add_argument("--group", type=int, default=200, help="group members (M ≤ N); target 500")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second into the group")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--senders", type=int, default=5, help="member sockets that send")
    parser.add_argument("--connect-concurrency", type=int, default=10, help="handshakes in flight (a ramp, not a storm)")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
    parser.add_argument("--database-url", default=os.environ.get("OFFICEHUB_DATABASE_URL", "postgres://officehub:officehub@127.0.0.1:5432/officehub"))
    parser.add_argument("--redis-url", default=os.environ.get("OFFICEHUB_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--keep-db", action="store_true", help="keep (and reuse) the bench database")
    parser.add_argument(
        "--layer",
        choices=["core", "pubsub"],
        default="core",
        help="channel layer of the served Daphne: core = channels_redis.core (as deployed), "
        "pubsub = RedisPubSubChannelLayer (bench/settings_pubsub.py)",
    )
    args = parser.parse_args()
    args.group = min(args.group, args.sockets)
    args.senders = max(1, min(args.senders, args.group))
    return args


# --------------------------------------------------------------------------- setup


def server_env(args: argparse.Namespace, database_url: str, prefix: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OFFICEHUB_DEBUG": "false",
            "OFFICEHUB_HTTPS": "false",
            "OFFICEHUB_SECRET_KEY": env.get("OFFICEHUB_BENCH_SECRET", "b" * 64),
            "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OFFICEHUB_DATABASE_URL": database_url,
            "OFFICEHUB_REDIS_URL": args.redis_url,
            "OFFICEHUB_CHANNEL_PREFIX": prefix,
            "OFFICEHUB_MESSAGE_RATE_PER_MINUTE": "10000000",
            "OFFICEHUB_STATIC_MANIFEST": "false",
            "OFFICEHUB_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "bench.settings_pubsub" if args.layer == "pubsub" else "officehub.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def create_database(args: argparse.Namespace) -> str:
    import psycopg

    base = args.database_url
    server, _, _ = base.rpartition("/")
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if exists and not args.keep_db:
            conn.execute(f'DROP DATABASE "{BENCH_DB}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return f"{server}/{BENCH_DB}"


def drop_database(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def seed(args: argparse.Namespace, env: dict[str, str]) -> tuple[int, list[str]]:
    """Migrate, create users, the group and one session per user; return (group id, cookies)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone

    from messaging.models import Conversation, ConversationKind, MemberRole, Membership
    from officehub.directory.models import User

    call_command("migrate", verbosity=0)
    User.objects.filter(username__startswith="bench").delete()
    Conversation.objects.filter(title="bench group").delete()
    users = User.objects.bulk_create(
        [User(username=f"bench{i:05d}", full_name=f"压测用户{i}", password="!") for i in range(args.sockets)],
        batch_size=1000,
    )
    group = Conversation.objects.create(kind=ConversationKind.GROUP, title="bench group", owner=users[0])
    Membership.objects.bulk_create(
        [
            Membership(conversation=group, user=user, role=MemberRole.OWNER if i == 0 else MemberRole.MEMBER)
            for i, user in enumerate(users[: args.group])
        ],
        batch_size=1000,
    )
    store = SessionStore()
    expire = timezone.now() + datetime.timedelta(hours=2)
    sessions = []
    keys = []
    for user in users:
        key = secrets.token_hex(16)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        keys.append(key)
    Session.objects.bulk_create(sessions, batch_size=1000)
    return group.pk, keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_daphne(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = open(ROOT / "var" / f"bench-daphne-{port}.log", "wb")  # closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.asgi_messaging:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Daphne exited early; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("Daphne did not start within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------- clients


@dataclass
class Receiver:
    member: bool
    seqs: list[int] = field(default_factory=list)  # live deliveries, in arrival order
    latencies: list[float] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    resume_done: asyncio.Event = field(default_factory=asyncio.Event)
    ws: Any = None


@dataclass
class Result:
    name: str
    sockets: int = 0
    members: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    sent: int = 0
    send_seconds: float = 0.0
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    lost: int = 0
    lost_after_resume: int | None = None
    latencies: list[float] = field(default_factory=list)
    connect_seconds: float = 0.0
    failed_connects: int = 0


async def run_phase(args: argparse.Namespace, name: str, port: int, pid: int, cookies: list[str], group_id: int) -> Result:
    from websockets.asyncio.client import connect

    chat = name == "chat"
    result = Result(name=name)
    send_times: dict[int, float] = {}
    receivers = [Receiver(member=i < args.group) for i in range(args.sockets)]
    all_connected = asyncio.Event()
    connected = 0
    gate = asyncio.Semaphore(args.connect_concurrency)
    origin = f"http://127.0.0.1:{port}"

    def on_frame(receiver: Receiver, raw: str, now: float) -> None:
        if chat:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "message":
                message = frame["message"]
                index = int(message["body"])
                receiver.seqs.append(message["seq"])
                receiver.latencies.append(now - send_times.get(index, now))
            elif kind == "resume.batch":
                receiver.resumed.extend(m["seq"] for m in frame["messages"])
            elif kind == "resume.done":
                receiver.resume_done.set()
        else:
            index = int(raw)
            receiver.seqs.append(index + 1)
            receiver.latencies.append(now - send_times.get(index, now))

    async def client(i: int) -> None:
        nonlocal connected
        receiver = receivers[i]
        if chat:
            url, headers = f"ws://127.0.0.1:{port}/ws/", {"Cookie": f"sessionid={cookies[i]}", "Origin": origin}
        else:
            url, headers = f"ws://127.0.0.1:{port}/bench/echo/{'?join=1' if receiver.member else ''}", {"Origin": origin}
        try:
            async with gate:
                ws = await connect(
                    url, additional_headers=headers, open_timeout=60, ping_interval=None, max_queue=None, close_timeout=2
                )
                if chat:
                    hello = json.loads(await ws.recv())
                    assert hello["type"] == "hello", hello
        except Exception as exc:  # noqa: BLE001 - counted and reported
            result.failed_connects += 1
            if result.failed_connects <= 5:
                print(f"  connect {i} failed: {exc!r}", file=sys.stderr)
            if connected + result.failed_connects == args.sockets:
                all_connected.set()
            return
        receiver.ws = ws
        connected += 1
        if connected + result.failed_connects == args.sockets:
            all_connected.set()
        try:
            async for raw in ws:
                on_frame(receiver, raw, time.perf_counter())
        except Exception:  # noqa: BLE001, S110 - the socket closes at the end of the phase
            pass

    before = rss_kib(pid)
    started = time.perf_counter()
    tasks = [asyncio.create_task(client(i)) for i in range(args.sockets)]
    await asyncio.wait_for(all_connected.wait(), timeout=600)
    result.connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)
    result.rss_before_kib, result.rss_after_kib = before, rss_kib(pid)
    result.sockets = connected
    result.members = sum(1 for r in receivers if r.member and r.ws is not None)

    total = int(args.rate * args.duration)
    senders = [r for r in receivers if r.member and r.ws is not None][: args.senders]
    t0 = time.perf_counter()
    for index in range(total):
        target = t0 + index / args.rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        ws = senders[index % len(senders)].ws
        send_times[index] = time.perf_counter()
        if chat:
            frame = {"type": "send", "conversation_id": group_id, "client_id": f"bench-{name}-{index}", "body": str(index)}
            await ws.send(json.dumps(frame))
        else:
            await ws.send(str(index))
    result.send_seconds = time.perf_counter() - t0
    result.sent = total
    expected_each = total
    deadline = time.perf_counter() + args.drain
    members = [r for r in receivers if r.member and r.ws is not None]
    while time.perf_counter() < deadline and any(len(r.seqs) < expected_each for r in members):
        await asyncio.sleep(0.1)

    for receiver in members:
        seen: set[int] = set()
        high = 0
        for seq in receiver.seqs:
            if seq in seen:
                result.duplicates += 1
                continue
            if seq < high:
                result.out_of_order += 1
            high = max(high, seq)
            seen.add(seq)
        result.delivered += len(seen)
        result.lost += expected_each - len(seen & set(range(1, expected_each + 1)))
        result.latencies.extend(receiver.latencies)
    result.expected = expected_each * len(members)

    if chat:
        # The guarantee: whatever the layer dropped, resume brings back.
        lost_after = 0
        for receiver in members:
            have = set(receiver.seqs)
            contiguous = 0
            while contiguous + 1 in have:
                contiguous += 1
            if contiguous >= expected_each:
                continue
            receiver.resume_done.clear()
            await receiver.ws.send(json.dumps({"type": "resume", "conversations": {str(group_id): contiguous}}))
            try:
                await asyncio.wait_for(receiver.resume_done.wait(), timeout=30)
            except TimeoutError:
                pass
            have |= set(receiver.resumed)
            lost_after += expected_each - len(have & set(range(1, expected_each + 1)))
        result.lost_after_resume = lost_after

    for receiver in receivers:
        if receiver.ws is not None:
            await receiver.ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


# --------------------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(args: argparse.Namespace, results: list[Result]) -> None:
    print()
    print(
        f"sockets requested {args.sockets}, group members {args.group}, rate {args.rate:g} msg/s for {args.duration:g} s, "
        f"senders {args.senders}, channel layer {args.layer}"
    )
    header = f"{'':<28}" + "".join(f"{r.name:>16}" for r in results)
    print(header)
    print("-" * len(header))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<28}" + "".join(f"{v:>16}" for v in values))

    row("sockets held", [str(r.sockets) for r in results])
    row("failed connects", [str(r.failed_connects) for r in results])
    row("connect time (s)", [f"{r.connect_seconds:.1f}" for r in results])
    row("RSS before (MiB)", [f"{r.rss_before_kib / 1024:.0f}" for r in results])
    row("RSS after (MiB)", [f"{r.rss_after_kib / 1024:.0f}" for r in results])
    row(
        "RSS per 1,000 sockets (MiB)",
        [f"{(r.rss_after_kib - r.rss_before_kib) / 1024 / max(r.sockets, 1) * 1000:.1f}" for r in results],
    )
    row("messages sent", [str(r.sent) for r in results])
    row("messages/s (sent)", [f"{r.sent / max(r.send_seconds, 1e-9):.1f}" for r in results])
    row("deliveries/s", [f"{r.delivered / max(r.send_seconds, 1e-9):.0f}" for r in results])
    row("deliveries expected", [str(r.expected) for r in results])
    row("deliveries received", [str(r.delivered) for r in results])
    row("latency p50 (ms)", [f"{statistics.median(r.latencies) * 1000:.1f}" if r.latencies else "-" for r in results])
    row("latency p99 (ms)", [f"{percentile(r.latencies, 0.99) * 1000:.1f}" for r in results])
    row("latency max (ms)", [f"{max(r.latencies) * 1000:.1f}" if r.latencies else "-" for r in results])
    row("missing live (late/dropped)", [str(r.lost) for r in results])
    row("missing after resume", [str(r.lost_after_resume) if r.lost_after_resume is not None else "n/a" for r in results])
    row("duplicated", [str(r.duplicates) for r in results])
    row("out of order", [str(r.out_of_order) for r in results])


def main() -> None:
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.sockets * 2 + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    (ROOT / "var").mkdir(exist_ok=True)
    prefix = f"bench-msg-{os.getpid()}"
    print(f"setting up database {BENCH_DB} with {args.sockets} users …", flush=True)
    database_url = create_database(args)
    env = server_env(args, database_url, prefix)
    group_id, cookies = seed(args, env)
    results = []
    try:
        for name in ("chat", "echo"):
            process, port = start_daphne(env)
            try:
                print(f"phase {name}: Daphne pid {process.pid} on port {port}", flush=True)
                results.append(asyncio.run(run_phase(args, name, port, process.pid, cookies, group_id)))
            finally:
                stop(process)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(args)
    report(args, results)


if __name__ == "__main__":
    main()
