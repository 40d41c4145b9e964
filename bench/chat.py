"""Chat at the size of a real office, through the served topology, each run beside a bare
Channels fan-out on the same stack.

Run:  .venv/bin/python bench/chat.py                          (all scenarios, ~6 min)
      .venv/bin/python bench/chat.py --scenarios fanout,storm --duration 20

One throw-away database; ``manage.py serve`` (nginx → N Daphne for /ws/, gunicorn for HTTP)
with bench/asgi_messaging.py, which adds ``/ws/bench/echo/``: a consumer that group_sends
each text frame to its group with no auth, database or JSON — the baseline. Scenarios:

- ``sender``: one sender at 50 msg/s; ack latency (send → ack: stored, seq'd, fanned out)
  vs the echo round trip of a socket alone in its group. Aim: ack p99 < 200 ms.
- ``many``: 1,000 connected users in 100 groups of 10, 100 senders (one per group) at
  ``--many-rate`` msg/s in total; persisted (acked) msgs/s and delivery latency. Aim:
  ≥ 500 msgs/s with delivery p99 < 500 ms.
- ``fanout``: a 500-member group at 5 msg/s; delivery latency, lost after resume. Aim:
  p99 < 250 ms, 0 lost.
- ``fanout+logins``, ``many+logins``: the same with 10 logins/s (real PBKDF2, through the
  proxy) in parallel. Aim: delivery p99 within 1.5× of the quiet run.
- ``storm``: 2,000 users, each in 50 conversations, connect within 60 s. Aim: 0 errors.

The clients are one asyncio process on the same 2 cores as everything they measure;
latency is measured on one clock (the client's). Figures are ranges only across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime
import itertools
import json
import os
import resource
import secrets
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    DEFAULT_DATABASE_URL,
    Served,
    bench_env,
    create_database,
    drop_database,
)

BENCH_DB = "officehub_bench_chat"
_pumps: set[asyncio.Future[None]] = set()  # running socket readers (the loop keeps weak references only)
LOGIN_PASSWORD = "Bench#Login-2026"  # throw-away bench users
ALL = ["sender", "many", "fanout", "fanout+logins", "many+logins", "storm"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(ALL))
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of load per run")
    parser.add_argument("--many-rate", type=float, default=500.0, help="total msgs/s in the many scenario")
    parser.add_argument("--fanout-members", type=int, default=500)
    parser.add_argument("--storm-users", type=int, default=2000)
    parser.add_argument("--storm-seconds", type=float, default=60.0)
    parser.add_argument("--login-rate", type=float, default=10.0)
    parser.add_argument("--socket-processes", type=int, default=2)
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for stragglers")
    parser.add_argument("--database-url", default=os.environ.get("OFFICEHUB_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("OFFICEHUB_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args()


# --------------------------------------------------------------------------- data


@dataclass
class Data:
    users: list[int]
    cookies: dict[int, str]
    sender_group: int
    many_groups: list[tuple[int, list[int]]]  # (conversation id, member user ids)
    fanout_group: tuple[int, list[int]]
    storm_users: list[int]
    login_users: list[str]


def seed(args: argparse.Namespace, env: dict[str, str], scenarios: list[str]) -> Data:
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.utils import timezone

    from messaging.models import Conversation, ConversationKind, MemberRole, Membership
    from officehub.directory.models import User

    call_command("migrate", verbosity=0)
    wanted = max(1000 + 1, args.fanout_members + 1, args.storm_users if "storm" in scenarios else 0)
    users = User.objects.bulk_create(
        [User(username=f"bench{i:05d}", full_name=f"压测{i}", password="!") for i in range(wanted)],
        batch_size=2000,
    )
    ids = [u.pk for u in users]
    logins = [f"benchlogin{i}" for i in range(20)]
    hashed = make_password(LOGIN_PASSWORD)  # real PBKDF2, computed once, stored for all
    User.objects.bulk_create([User(username=name, full_name=name, password=hashed) for name in logins])

    def group(title: str, members: list[int]) -> int:
        conversation = Conversation.objects.create(kind=ConversationKind.GROUP, title=title, owner_id=members[0])
        Membership.objects.bulk_create(
            [Membership(conversation=conversation, user_id=uid, role=MemberRole.OWNER if i == 0 else MemberRole.MEMBER)
             for i, uid in enumerate(members)],
            batch_size=5000,
        )
        return conversation.pk

    sender_group = group("sender", ids[:1])
    many_groups = [(group(f"many{g}", ids[g * 10:(g + 1) * 10]), ids[g * 10:(g + 1) * 10]) for g in range(100)]
    fanout_members = ids[:args.fanout_members]
    fanout_group = (group("fanout", fanout_members), fanout_members)
    storm_users = ids[:args.storm_users] if "storm" in scenarios else []
    if storm_users:
        # Each storm user in 50 conversations of 50 members each.
        count = len(storm_users)
        conversations = Conversation.objects.bulk_create(
            [Conversation(kind=ConversationKind.GROUP, title=f"storm{c}", owner_id=storm_users[c % count])
             for c in range(count)],
            batch_size=2000,
        )
        Membership.objects.bulk_create(
            [Membership(conversation_id=conversations[(u + k * 41) % count].pk, user_id=storm_users[u])
             for u in range(count) for k in range(50)],
            batch_size=10000,
            ignore_conflicts=True,
        )
    store = SessionStore()
    expire = timezone.now() + datetime.timedelta(hours=3)
    cookies: dict[int, str] = {}
    sessions = []
    for user in users:
        key = secrets.token_hex(16)
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()}
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        cookies[user.pk] = key
    Session.objects.bulk_create(sessions, batch_size=2000)
    from django.db import connections

    connections.close_all()
    return Data(ids, cookies, sender_group, many_groups, fanout_group, storm_users, logins)


# --------------------------------------------------------------------------- clients


@dataclass
class Socket:
    ws: Any = None
    hello_seconds: float = 0.0
    seqs: dict[int, list[int]] = field(default_factory=dict)  # conversation -> seqs in arrival order
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    resumed: dict[int, list[int]] = field(default_factory=dict)
    resume_done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Run:
    name: str
    stack: str
    figures: dict[str, float] = field(default_factory=dict)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Clients:
    def __init__(self, served: Served) -> None:
        self.base = f"ws://127.0.0.1:{served.port}"
        self.origin = served.url
        self.send_times: dict[str, float] = {}
        self.failed = 0
        # client_id is idempotent per sender: a run that reuses a body must not reuse its id,
        # or the server answers with the earlier message and fans nothing out.
        self.run_tag = secrets.token_hex(4)

    async def open(self, url: str, cookie: str | None, *, chat: bool) -> Socket:
        from websockets.asyncio.client import connect

        socket = Socket()
        headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
        started = time.perf_counter()
        socket.ws = await connect(url, origin=self.origin, additional_headers=headers, open_timeout=120,  # type: ignore[arg-type]
                                  ping_interval=None, max_queue=None, close_timeout=2, max_size=2**24)
        if chat:
            hello = json.loads(await socket.ws.recv())
            assert hello["type"] == "hello", hello
        socket.hello_seconds = time.perf_counter() - started
        pump = asyncio.ensure_future(self._pump(socket, chat))
        _pumps.add(pump)
        pump.add_done_callback(_pumps.discard)
        return socket

    async def _pump(self, socket: Socket, chat: bool) -> None:
        try:
            async for raw in socket.ws:
                now = time.perf_counter()
                if not chat:
                    socket.latencies.append(now - self.send_times.get(raw, now))
                    socket.seqs.setdefault(0, []).append(int(raw.rsplit(":", 1)[1]))
                    continue
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "message":
                    message = frame["message"]
                    socket.seqs.setdefault(message["conversation_id"], []).append(message["seq"])
                    socket.latencies.append(now - self.send_times.get(message["body"], now))
                elif kind == "ack":
                    socket.acks.append(now - self.send_times.get(frame["message"]["body"], now))
                elif kind == "resume.batch":
                    socket.resumed.setdefault(frame["conversation_id"], []).extend(m["seq"] for m in frame["messages"])
                elif kind == "resume.done":
                    socket.resume_done.set()
        except Exception:  # noqa: BLE001, S110 - closed at the end of the run
            pass

    async def chat_send(self, socket: Socket, conversation_id: int, body: str) -> None:
        self.send_times[body] = time.perf_counter()
        await socket.ws.send(json.dumps({"type": "send", "conversation_id": conversation_id,
                                         "client_id": f"{self.run_tag}:{body}", "body": body}))

    async def echo_send(self, socket: Socket, body: str) -> None:
        self.send_times[body] = time.perf_counter()
        await socket.ws.send(body)


async def open_many(clients: Clients, specs: list[tuple[str, str | None, bool]], concurrency: int = 50) -> list[Socket]:
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str, cookie: str | None, chat: bool) -> Socket:
        async with gate:
            return await clients.open(url, cookie, chat=chat)

    return list(await asyncio.gather(*(one(*spec) for spec in specs)))


async def paced(total: int, rate: float, send: Any) -> float:
    started = time.perf_counter()
    for index in range(total):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(index)
    return time.perf_counter() - started


async def wait_for(predicate: Any, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and not predicate():
        await asyncio.sleep(0.1)


async def close_all(sockets: list[Socket]) -> None:
    await asyncio.gather(*(s.ws.close() for s in sockets if s.ws is not None), return_exceptions=True)


async def lost_after_resume(sockets: list[Socket], conversation_id: int, expected: int) -> int:
    """What resume cannot bring back (the guarantee: nothing)."""
    lost = 0
    for socket in sockets:
        have = set(socket.seqs.get(conversation_id, []))
        held = 0
        while held + 1 in have:
            held += 1
        if held >= expected:
            continue
        socket.resume_done.clear()
        await socket.ws.send(json.dumps({"type": "resume", "conversations": {str(conversation_id): held}}))
        await asyncio.wait_for(socket.resume_done.wait(), 30)
        have |= set(socket.resumed.get(conversation_id, []))
        lost += expected - len(have & set(range(1, expected + 1)))
    return lost


def order_problems(sockets: list[Socket]) -> tuple[int, int]:
    duplicates = out_of_order = 0
    for socket in sockets:
        for seqs in socket.seqs.values():
            duplicates += len(seqs) - len(set(seqs))
            out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
    return duplicates, out_of_order


# --------------------------------------------------------------------------- scenarios


async def scenario_sender(args: argparse.Namespace, served: Served, data: Data) -> list[Run]:
    clients = Clients(served)
    uid = data.users[0]
    chat = await clients.open(f"{clients.base}/ws/", data.cookies[uid], chat=True)
    echo = await clients.open(f"{clients.base}/ws/bench/echo/?group=sender", None, chat=False)
    total = int(50 * args.duration)
    await paced(total, 50, lambda i: clients.chat_send(chat, data.sender_group, f"s:{i}"))
    await paced(total, 50, lambda i: clients.echo_send(echo, f"e:{i}"))
    await wait_for(lambda: len(chat.acks) >= total and len(echo.latencies) >= total, args.drain)
    await close_all([chat, echo])
    return [
        Run("sender 50 msg/s", "chat (ack)", {"p50 ms": pct(chat.acks, .5) * 1000, "p99 ms": pct(chat.acks, .99) * 1000,
                                              "acked": len(chat.acks), "sent": total}),
        Run("sender 50 msg/s", "echo baseline", {"p50 ms": pct(echo.latencies, .5) * 1000,
                                                 "p99 ms": pct(echo.latencies, .99) * 1000, "acked": len(echo.latencies),
                                                 "sent": total}),
    ]


async def scenario_many(args: argparse.Namespace, served: Served, data: Data, label: str = "many") -> list[Run]:
    runs = []
    for stack in ("chat", "echo"):
        clients = Clients(served)
        chat = stack == "chat"
        specs = []
        for g, (_, members) in enumerate(data.many_groups):
            for uid in members:
                url = f"{clients.base}/ws/" if chat else f"{clients.base}/ws/bench/echo/?group=many{g}"
                specs.append((url, data.cookies[uid] if chat else None, chat))
        sockets = await open_many(clients, specs)
        senders = [sockets[g * 10] for g in range(len(data.many_groups))]
        total = int(args.many_rate * args.duration)

        async def send(index: int, senders: list[Socket] = senders, clients: Clients = clients, chat: bool = chat) -> None:
            group_index = index % len(senders)
            if chat:
                await clients.chat_send(senders[group_index], data.many_groups[group_index][0], f"m:{index}")
            else:
                await clients.echo_send(senders[group_index], f"m:{index}")

        seconds = await paced(total, args.many_rate, send)
        expected = total * 10
        await wait_for(lambda sockets=sockets, expected=expected: sum(len(s.latencies) for s in sockets) >= expected, args.drain)
        latencies = [x for s in sockets for x in s.latencies]
        acked = sum(len(s.acks) for s in senders) if chat else total
        duplicates, _ = order_problems(sockets)
        runs.append(Run(label, "chat" if chat else "echo baseline", {
            "msgs/s sent": total / seconds, "msgs/s acked": acked / seconds,
            "p50 ms": pct(latencies, .5) * 1000, "p99 ms": pct(latencies, .99) * 1000,
            "delivered": len(latencies), "expected": expected, "duplicated": duplicates,
        }))
        await close_all(sockets)
    return runs


async def scenario_fanout(args: argparse.Namespace, served: Served, data: Data, label: str = "fanout") -> list[Run]:
    runs = []
    conversation_id, members = data.fanout_group
    for stack in ("chat", "echo"):
        clients = Clients(served)
        chat = stack == "chat"
        specs = [(f"{clients.base}/ws/" if chat else f"{clients.base}/ws/bench/echo/?group=fanout",
                  data.cookies[uid] if chat else None, chat) for uid in members]
        sockets = await open_many(clients, specs)
        total = int(5 * args.duration)
        senders = sockets[:5]

        async def send(index: int, senders: list[Socket] = senders, clients: Clients = clients, chat: bool = chat) -> None:
            if chat:
                await clients.chat_send(senders[index % 5], conversation_id, f"f:{index}")
            else:
                await clients.echo_send(senders[index % 5], f"f:{index}")

        await paced(total, 5, send)
        expected = total * len(sockets)
        await wait_for(lambda sockets=sockets, expected=expected: sum(len(s.latencies) for s in sockets) >= expected, args.drain)
        latencies = [x for s in sockets for x in s.latencies]
        duplicates, out_of_order = order_problems(sockets)
        figures = {"p50 ms": pct(latencies, .5) * 1000, "p99 ms": pct(latencies, .99) * 1000,
                   "delivered": len(latencies), "expected": expected, "duplicated": duplicates,
                   "out of order": out_of_order}
        if chat:
            figures["lost after resume"] = await lost_after_resume(sockets, conversation_id, total)
        runs.append(Run(label, "chat" if chat else "echo baseline", figures))
        await close_all(sockets)
    return runs


class Logins:
    """``rate`` token logins per second through the proxy, in threads, until stopped."""

    def __init__(self, served: Served, data: Data, rate: float) -> None:
        self.url = f"{served.url}/api/auth/token/"
        self.users = data.login_users
        self.rate = rate
        self.done: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=int(rate * 3) + 4)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _login(self, index: int) -> None:
        body = json.dumps({"username": self.users[index % len(self.users)], "password": LOGIN_PASSWORD}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
                response.read()
            self.done.append(time.perf_counter() - started)
        except Exception:  # noqa: BLE001 - counted
            self.errors += 1

    def _run(self) -> None:
        started = time.perf_counter()
        index = 0
        while not self._stop.is_set():
            delay = started + index / self.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            self._pool.submit(self._login, index)
            index += 1

    def __enter__(self) -> Logins:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=True)


async def scenario_storm(args: argparse.Namespace, served: Served, data: Data) -> list[Run]:
    clients = Clients(served)
    users = data.storm_users
    errors = 0
    hellos: list[float] = []
    sockets: list[Socket] = []

    async def one(index: int) -> None:
        nonlocal errors
        await asyncio.sleep(index * args.storm_seconds / len(users))
        try:
            socket = await clients.open(f"{clients.base}/ws/", data.cookies[users[index]], chat=True)
            sockets.append(socket)
            hellos.append(socket.hello_seconds)
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors += 1
            if errors <= 3:
                print(f"  storm connect failed: {exc!r}", file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(len(users))))
    seconds = time.perf_counter() - started
    await close_all(sockets)
    return [Run("storm", f"{len(users)} users x 50 conversations", {
        "connected": len(hellos), "errors": errors, "seconds": seconds,
        "hello p50 ms": pct(hellos, .5) * 1000, "hello p99 ms": pct(hellos, .99) * 1000,
    })]


async def run_scenarios(args: argparse.Namespace, served: Served, data: Data, scenarios: list[str]) -> list[Run]:
    runs: list[Run] = []
    for name in scenarios:
        print(f"scenario {name} …", flush=True)
        if name == "sender":
            runs += await scenario_sender(args, served, data)
        elif name in ("many", "fanout"):
            runs += await (scenario_many if name == "many" else scenario_fanout)(args, served, data)
        elif name in ("many+logins", "fanout+logins"):
            with Logins(served, data, args.login_rate) as logins:
                runs += await (scenario_many if name.startswith("many") else scenario_fanout)(args, served, data, name)
            print(f"  logins: {len(logins.done)} done, {logins.errors} errors, "
                  f"p50 {pct(logins.done, .5) * 1000:.0f} ms", flush=True)
        elif name == "storm":
            runs += await scenario_storm(args, served, data)
    return runs


def report(runs: list[Run]) -> None:
    print(f"\nChat through the served topology — {os.cpu_count()} cores, clients on the same machine")
    for run in runs:
        figures = "  ".join(f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
                            for key, value in run.figures.items())
        print(f"{run.name:<16} {run.stack:<30} {figures}")
    quiet = {r.name: r.figures.get("p99 ms") for r in runs if r.stack == "chat"}
    for name in ("many", "fanout"):
        loud = quiet.get(f"{name}+logins")
        if quiet.get(name) and loud:
            print(f"{name}: delivery p99 with logins ÷ quiet = {loud / quiet[name]:.2f}×")


def main() -> None:
    args = parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(ALL)
    if unknown:
        raise SystemExit(f"unknown scenarios: {sorted(unknown)}")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    database_url = create_database(args.database_url, BENCH_DB, keep=False)
    env = bench_env(database_url, redis_url=args.redis_url, prefix=f"bench-chat-{os.getpid()}")
    env["OFFICEHUB_API_RATE_LOGIN"] = "1000000/min"
    env["OFFICEHUB_API_RATE_ANON"] = "1000000/min"
    print("seeding …", flush=True)
    data = seed(args, env, scenarios)
    runs: list[Run] = []
    try:
        with Served(env, sockets=args.socket_processes, http_workers=args.http_workers,
                    extra=["--asgi", "bench.asgi_messaging:application"]) as served:
            runs = asyncio.run(run_scenarios(args, served, data, scenarios))
    finally:
        if not args.keep_db:
            drop_database(args.database_url, BENCH_DB)
    report(runs)


if __name__ == "__main__":
    main()
