"""Meeting signaling benchmark: many rooms of synthetic peers exchanging offers, answers
and ICE candidates over real WebSockets, through OfficeHub's meeting socket and through a
bare Channels relay, in the same run.

Run:  .venv/bin/python bench/meetings.py                          (modest defaults, ~1–2 min)
      .venv/bin/python bench/meetings.py --rooms 200 --peers 4      (the target: p99 < 100 ms, 0 lost)

What it does:

1. starts a private Redis (``redis-server`` on a free port, no persistence; or uses
   ``--redis-url``) and creates a throw-away PostgreSQL database
   (``officehub_bench_meetings``), migrates it, and seeds ``rooms × peers`` users, one
   meeting per room (open now, the first user hosts, the others invited) and a Django
   session per user (written straight to the session table, no login round-trips);
2. **officehub**: starts Daphne (``bench.asgi_meetings:application``), joins every room
   the way the browser does (peers one after another, each newcomer getting the roster in
   its ``welcome``), then has every newcomer offer to each peer already in the room; the
   addressed peer answers and both sides trickle ``--ice`` candidates. Every frame carries
   its send time; the receiving peer records relay latency (one clock: this process) and
   the run counts expected vs received frames (lost) and error frames;
3. **bare relay**: a fresh Daphne, the same rooms and exchange on ``/bench/relay/`` — a
   consumer with no auth, no database and no validation (see bench/asgi_meetings.py);
4. prints one table and drops the database (``--keep-db`` keeps it).

Rooms start their exchange at random moments over ``rooms / --room-rate`` seconds (a
steady load of about ``room-rate × 60`` frames per second rather than one synchronised
burst; ``--spread 0`` gives the burst). The clients share the 2 cores with Daphne, Redis and
PostgreSQL, so absolute figures are pessimistic; the comparison with the bare relay in
the same run is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "officehub_bench_meetings"
PREFIX = "bench-meetings"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rooms", type=int, default=50, help="meeting rooms (target 200)")
    parser.add_argument("--peers", type=int, default=4, help="peers per room (≤ MEETING_CAPACITY)")
    parser.add_argument("--ice", type=int, default=4, help="ICE candidates each side trickles per pair")
    parser.add_argument("--sdp-bytes", type=int, default=3000, help="size of each offer/answer SDP")
    parser.add_argument(
        "--room-rate", type=float, default=5.0, help="rooms starting their exchange per second (a steady load)"
    )
    parser.add_argument("--spread", type=float, default=None, help="seconds over which rooms start (overrides --room-rate)")
    parser.add_argument("--connect-concurrency", type=int, default=8, help="rooms joining at once")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
    parser.add_argument("--seed", type=int, default=7, help="random seed for the start offsets")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OFFICEHUB_DATABASE_URL", "postgres://officehub:officehub@127.0.0.1:5432/officehub"),
    )
    parser.add_argument("--redis-url", default="", help="use this Redis instead of starting a private one")
    parser.add_argument("--keep-db", action="store_true", help="keep (and reuse) the bench database")
    parser.add_argument("--skip-bare", action="store_true", help="only measure OfficeHub's consumer")
    parser.add_argument("--bare-first", action="store_true", help="run the bare relay phase first (order effects)")
    args = parser.parse_args()
    if args.spread is None:
        args.spread = args.rooms / args.room_rate
    return args


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(process: subprocess.Popen[bytes], port: int, what: str, log: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not start within 60 s; see {log}")


def start_redis() -> tuple[subprocess.Popen[bytes], str, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: install Redis or pass --redis-url")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    log = os.path.join(workdir, "redis.log")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=open(log, "wb"),  # lives as long as the process
        stderr=subprocess.STDOUT,
    )
    wait_listening(process, port, "redis-server", log)
    return process, f"redis://127.0.0.1:{port}/0", workdir


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OFFICEHUB_DEBUG": "false",
            "OFFICEHUB_HTTPS": "false",
            "OFFICEHUB_SECRET_KEY": env.get("OFFICEHUB_BENCH_SECRET", "m" * 64),
            "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OFFICEHUB_DATABASE_URL": database_url,
            "OFFICEHUB_REDIS_URL": redis_url,
            "OFFICEHUB_CHANNEL_PREFIX": PREFIX,
            "OFFICEHUB_CHANNEL_CAPACITY": "10000",
            "OFFICEHUB_ICE_SERVERS": "[]",
            "OFFICEHUB_STATIC_MANIFEST": "false",
            "OFFICEHUB_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "officehub.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def start_daphne(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = ROOT / "var" / f"bench-meetings-daphne-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.asgi_meetings:application"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "wb"),  # lives as long as the process
        stderr=subprocess.STDOUT,
    )
    wait_listening(process, port, "Daphne", str(log))
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------ database


def create_database(args: argparse.Namespace) -> str:
    import psycopg

    server, _, _ = args.database_url.rpartition("/")
    with psycopg.connect(args.database_url, autocommit=True) as conn:
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


@dataclass
class Room:
    index: int
    meeting_id: int
    sessions: list[str]  # session key per peer, host first


def seed(args: argparse.Namespace, env: dict[str, str]) -> list[Room]:
    """Migrate; one open meeting per room with its users and their sessions."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone

    from messaging.models import Invitation, Meeting, Participant
    from officehub.directory.models import User

    call_command("migrate", verbosity=0)
    Participant.objects.all().delete()
    Meeting.objects.filter(title__startswith="压测会议").delete()
    User.objects.filter(username__startswith="mbench").delete()
    count = args.rooms * args.peers
    users = User.objects.bulk_create(
        [User(username=f"mbench{i:05d}", full_name=f"压测{i}", password="!") for i in range(count)],
        batch_size=1000,
    )
    now = timezone.now()
    meetings = Meeting.objects.bulk_create(
        [
            Meeting(
                title=f"压测会议{r}",
                start_at=now - datetime.timedelta(minutes=1),
                end_at=now + datetime.timedelta(hours=2),
                host=users[r * args.peers],
            )
            for r in range(args.rooms)
        ]
    )
    Invitation.objects.bulk_create(
        [
            Invitation(meeting=meetings[r], user=users[r * args.peers + k])
            for r in range(args.rooms)
            for k in range(1, args.peers)
        ],
        batch_size=1000,
    )
    store = SessionStore()
    expire = now + datetime.timedelta(hours=2)
    keys = [secrets.token_hex(16) for _ in users]
    Session.objects.bulk_create(
        [
            Session(
                session_key=key,
                session_data=store.encode(
                    {
                        SESSION_KEY: str(user.pk),
                        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: user.get_session_auth_hash(),
                    }
                ),
                expire_date=expire,
            )
            for user, key in zip(users, keys, strict=True)
        ],
        batch_size=1000,
    )
    return [
        Room(index=r, meeting_id=meetings[r].pk, sessions=keys[r * args.peers : (r + 1) * args.peers])
        for r in range(args.rooms)
    ]


# -------------------------------------------------------------------------------- clients


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    joins: list[float] = field(default_factory=list)
    received: int = 0
    errors: int = 0
    join_failures: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)


class Peer:
    """One synthetic participant: answers offers, trickles ICE, records latencies."""

    def __init__(self, ws: Any, stats: Stats, args: argparse.Namespace, padding: str) -> None:
        self.ws = ws
        self.stats = stats
        self.args = args
        self.padding = padding
        self.peer_id: int | None = None
        self.known: set[int] = set()
        self.welcomed = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None

    def sdp(self) -> str:
        return f"v=0\r\na=bench-ts:{time.perf_counter():.9f}\r\n{self.padding}"

    def candidate(self, n: int) -> dict[str, Any]:
        return {
            "candidate": f"candidate:{n} 1 udp 2122260223 127.0.0.1 {50000 + n} typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": f"{time.perf_counter():.9f}",
        }

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def trickle(self, to: int) -> None:
        for n in range(self.args.ice):
            await self.send({"type": "ice", "to": to, "candidate": self.candidate(n)})

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind in ("offer", "answer"):
                    sent = float(frame["sdp"].split("a=bench-ts:", 1)[1].split("\r\n", 1)[0])
                    self.stats.latencies.append(time.perf_counter() - sent)
                    self.stats.received += 1
                    if kind == "offer":
                        await self.send({"type": "answer", "to": frame["from"], "sdp": self.sdp()})
                    await self.trickle(frame["from"])
                elif kind == "ice":
                    self.stats.latencies.append(time.perf_counter() - float(frame["candidate"]["usernameFragment"]))
                    self.stats.received += 1
                elif kind == "welcome":
                    self.peer_id = frame["peer_id"]
                    self.known.update(p["peer_id"] for p in frame["roster"])
                    self.welcomed.set()
                elif kind == "peer_joined":
                    self.known.add(frame["peer"]["peer_id"])
                elif kind == "peer_left":
                    self.known.discard(frame["peer_id"])
                elif kind == "error":
                    self.stats.errors += 1
                    code = str(frame.get("code"))
                    self.stats.error_codes[code] = self.stats.error_codes.get(code, 0) + 1
                    self.welcomed.set()
        except Exception as exc:  # noqa: BLE001 - a dropped socket is counted, not fatal
            if not isinstance(exc, asyncio.CancelledError):
                self.stats.errors += 1
                self.stats.error_codes[type(exc).__name__] = self.stats.error_codes.get(type(exc).__name__, 0) + 1


async def join_room(kind: str, port: int, room: Room, stats: Stats, args: argparse.Namespace, padding: str) -> list[Peer]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidMessage

    peers: list[Peer] = []
    for k, session in enumerate(room.sessions):
        if kind == "officehub":
            url = f"ws://127.0.0.1:{port}/ws/meetings/{room.meeting_id}/"
            headers = [("Cookie", f"sessionid={session}"), ("Origin", f"http://127.0.0.1:{port}")]
        else:
            url = f"ws://127.0.0.1:{port}/bench/relay/{room.index}/?peer={room.index * 100 + k + 1}"
            headers = [("Origin", f"http://127.0.0.1:{port}")]
        started = time.perf_counter()
        for attempt in range(1, 6):
            try:
                ws = await connect(
                    url, additional_headers=headers, open_timeout=60, ping_interval=None, max_queue=None, close_timeout=2
                )
                break
            except (OSError, InvalidHandshake, InvalidMessage):
                # Daphne drops a handshake the application has not accepted within its
                # websocket_connect_timeout (5 s): count it and try again.
                stats.join_failures += 1
                if attempt == 5:
                    raise
                await asyncio.sleep(0.5)
        peer = Peer(ws, stats, args, padding)
        peer.reader = asyncio.create_task(peer.read())
        await asyncio.wait_for(peer.welcomed.wait(), timeout=60)
        stats.joins.append(time.perf_counter() - started)
        peers.append(peer)
    return peers


async def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


@dataclass
class PhaseResult:
    name: str
    stats: Stats
    expected: int
    seconds: float
    join_seconds: float


async def run_phase(kind: str, port: int, rooms: list[Room], args: argparse.Namespace) -> PhaseResult:
    stats = Stats()
    padding = "a=x-pad:" + "x" * max(0, args.sdp_bytes - 40) + "\r\n"
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def join(room: Room) -> list[Peer]:
        async with gate:
            return await join_room(kind, port, room, stats, args, padding)

    join_started = time.perf_counter()
    all_peers = await asyncio.gather(*(join(room) for room in rooms))
    join_seconds = time.perf_counter() - join_started
    everyone = [peer for peers in all_peers for peer in peers]
    others = args.peers - 1
    ready = await wait_for(lambda: all(len(p.known) >= others for p in everyone), 30)
    if not ready:
        print(f"  warning: {sum(len(p.known) < others for p in everyone)} peers never saw the whole room", flush=True)

    pairs = args.peers * (args.peers - 1) // 2
    per_pair = 2 + 2 * args.ice
    expected = len(rooms) * pairs * per_pair
    rng = random.Random(args.seed)

    async def exchange(peers: list[Peer]) -> None:
        await asyncio.sleep(rng.uniform(0, args.spread))
        for i in range(1, len(peers)):  # newcomers offer to those already inside
            for j in range(i):
                await peers[i].send({"type": "offer", "to": peers[j].peer_id, "sdp": peers[i].sdp()})

    started = time.perf_counter()
    await asyncio.gather(*(exchange(peers) for peers in all_peers))
    await wait_for(lambda: stats.received >= expected, args.drain + 30)
    seconds = time.perf_counter() - started
    for peer in everyone:
        await peer.ws.close()
    for peer in everyone:
        if peer.reader:
            peer.reader.cancel()
    await asyncio.gather(*(p.reader for p in everyone if p.reader), return_exceptions=True)
    return PhaseResult(kind, stats, expected, seconds, join_seconds)


# -------------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(results: list[PhaseResult], args: argparse.Namespace) -> None:
    print()
    print(f"rooms={args.rooms} peers/room={args.peers} ice/side={args.ice} sdp={args.sdp_bytes} B spread={args.spread:g}s")
    header = (
        f"{'server':<10} {'frames':>7} {'recv':>7} {'lost':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'join p50':>9} {'join p99':>9} {'retry':>5} {'fps':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ms = [v * 1000 for v in r.stats.latencies]
        joins = [v * 1000 for v in r.stats.joins]
        print(
            f"{r.name:<10} {r.expected:>7} {r.stats.received:>7} {max(0, r.expected - r.stats.received):>5} {r.stats.errors:>4} "
            f"{statistics.median(ms) if ms else float('nan'):>8.1f} {percentile(ms, 95):>8.1f} {percentile(ms, 99):>8.1f} "
            f"{max(ms) if ms else float('nan'):>8.1f} {statistics.median(joins) if joins else float('nan'):>9.1f} "
            f"{percentile(joins, 99):>9.1f} {r.stats.join_failures:>5} {r.stats.received / r.seconds if r.seconds else 0:>7.0f}"
        )
        if r.stats.error_codes:
            print(f"{'':<10} errors: {r.stats.error_codes}")
    print()
    print("frames = offers+answers+ICE expected at the addressed peers; lost = expected − received;")
    print("latency = client send → addressed client receive (one clock); join = connect → welcome;")
    print("retry = handshakes Daphne dropped (not accepted within its 5 s connect timeout) and retried.")


# ----------------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    if args.peers < 2:
        raise SystemExit("--peers must be at least 2")
    redis_process = None
    redis_dir = ""
    redis_url = args.redis_url
    if not redis_url:
        redis_process, redis_url, redis_dir = start_redis()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database_url = create_database(args)
        env = server_env(database_url, redis_url)
        print(f"seeding {args.rooms} rooms × {args.peers} peers in {BENCH_DB} …", flush=True)
        rooms = seed(args, env)
        results = []
        phases = ["officehub"] if args.skip_bare else ["officehub", "bare"]
        if args.bare_first:
            phases.reverse()
        for kind in phases:
            process, port = start_daphne(env)
            processes.append(process)
            print(f"{kind}: Daphne on :{port}, joining and exchanging …", flush=True)
            results.append(asyncio.run(run_phase(kind, port, rooms, args)))
            stop(process)
        report(results, args)
    finally:
        for process in processes:
            stop(process)
        if not args.keep_db:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: BLE001, S110 - Django may not be set up yet
                pass
            drop_database(args)
        if redis_process is not None:
            stop(redis_process)
            shutil.rmtree(redis_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
