"""全局搜索 message benchmark: indexing rate of the change drain and query latency through
the API at concurrent users, each next to raw Elasticsearch measured in the same run.

Run:  .venv/bin/python bench/search_messages.py [--messages 1000000] [--conversations 2000]
      [--batch 2000] [--clients 10] [--seconds 30] [--raw-batches 10] [--database NAME] [--keep]
      (--seconds 0 skips the query part; sizes are parameters: a smaller run is
      ``--messages 200000 --conversations 400``)

Against the real PostgreSQL and Elasticsearch, in a throw-away database
``<name>_bench_messages`` with the demo organisation (30 people) and its own index prefix:

* setup (not compared) — ``--conversations`` group chats of 3–12 demo people (so each
  person sits in hundreds of them; 5 % hide their history from members who joined
  later), and ``--messages`` chat messages (short Chinese chat lines made of government
  phrases and sentences of ../shared/reference/digital-government.txt, about 35
  characters) spread over them unevenly and over the past year, bulk-inserted with COPY,
  with one ``IndexChange`` outbox row each — what ``mark_for_index`` writes when a message
  is sent.
* indexing — ``search.services.change_drain(limit=batch)`` exactly as the worker calls
  it, until the outbox is empty: claim rows (SKIP LOCKED), read the messages, cut the
  words (jieba), build the documents, ``_bulk`` with external versions, delete the rows,
  commit. Reported in messages/s over the whole run (aim: keep up with 500 msgs/s) with
  the per-batch spread. Raw, for the first ``--raw-batches`` batches: the very NDJSON of
  that batch (built untimed beforehand) sent with one ``_bulk`` to a plain index of the
  same mapping — the cost of Elasticsearch alone. Both indices must then hold what was
  sent and no outbox row may be left.
* queries — ``manage.py serve`` (nginx → gunicorn, ``--http-workers``) on this database,
  and ``--clients`` threads, each a different demo user with an API token and a kept-alive
  connection, sending ``GET /api/search/?q=…&tab=messages`` back to back for ``--seconds``
  (auth, parsing, the user's conversations and history floors from PostgreSQL, people and
  group counts, one ``_msearch`` for messages + 公文 count + 档案 count, the database
  re-check of every hit, serialisation). Raw: the same ``--clients`` threads sending each
  user's ``_msearch`` body (the same three searches) straight to Elasticsearch, and
  the message search alone. The phases alternate (raw, ours, raw, ours) so machine noise
  hits both. p50/p95 ms; aim: ours p95 < 100 ms and ≤ 2 × raw.

The machine is shared (2 cores): the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULTS = {
    "OFFICEHUB_DEBUG": "false",
    "OFFICEHUB_HTTPS": "false",
    "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "OFFICEHUB_DATABASE_URL": "postgres://officehub:officehub@127.0.0.1:5432/officehub",
    "OFFICEHUB_REDIS_URL": "redis://127.0.0.1:6379/0",
    "OFFICEHUB_CHANNEL_PREFIX": "bench-messages",
    "OFFICEHUB_ELASTICSEARCH_URL": "http://127.0.0.1:9200",
    "OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX": "bench-messages",
    "OFFICEHUB_STATIC_MANIFEST": "false",
    "OFFICEHUB_LOG_LEVEL": "WARNING",
    "OFFICEHUB_API_RATE_USER": "100000000/min",
}
for key, value in DEFAULTS.items():
    os.environ.setdefault(key, value)
os.environ.setdefault("OFFICEHUB_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(48)).decode())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

REFERENCE = Path("/work/shared/reference/digital-government.txt")
PHRASES = [
    "收到", "好的，马上处理", "请各位查收", "明天上午九点开会", "材料已发群里", "请尽快确认", "辛苦了", "已阅",
    "请于周五前报送", "会议纪要已上传", "值班安排见附件", "下午到会议室集合", "我这边没问题", "请补充数据",
    "一网通办", "数据共享", "防汛值班", "城市大脑", "浙政钉", "最多跑一次", "营商环境", "网络安全", "公共数据开放",
    "电子证照", "安全生产", "政务服务", "档案数字化", "预算执行", "督查通报", "放管服",
]
QUERIES = [
    "一网通办", "数据共享", "防汛值班", "城市大脑", "浙政钉", "最多跑一次", "营商环境 材料", "“网络安全”",
    "公共数据开放", "电子证照", "会议纪要", "值班安排", "请尽快确认", "数字政府", "政务服务 平台", "数据孤岛",
    "安全生产", "预算执行", "督查通报", "放管服",
]
BENCH_USERS = ["heli", "wangfang", "lijun", "zhaomin", "sunli", "chenjie", "zhouqiang", "wuhao", "liuyang", "huangyan",
               "qianlei", "hanmei", "youli", "fengxue", "xuming", "chuyi", "yangfan", "hejun", "weidong", "zhuwen"]


def sentences() -> list[str]:
    text = REFERENCE.read_text(encoding="utf-8").replace("[bookmark: _GoBack]", "")
    parts = [re.sub(r"\s+", "", s) for s in re.split(r"[。；！？，]", text)]
    return [s for s in parts if 6 <= len(s) <= 40]


def chat_line(rng: random.Random, pool: list[str]) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(PHRASES)
    if roll < 0.8:
        return f"{rng.choice(PHRASES)}，{rng.choice(pool)}。"
    return f"{rng.choice(pool)}，{rng.choice(pool)}，{rng.choice(PHRASES)}。"


def setup(messages: int, conversations: int, seed: int = 11) -> tuple[float, int]:
    """Conversations, memberships and messages (COPY), and an outbox row per message.
    Returns (seconds, average characters per message)."""
    from messaging.models import Conversation, Membership
    from officehub.directory.models import User

    rng = random.Random(seed)
    t0 = time.perf_counter()
    users = list(User.objects.filter(is_active=True).values_list("pk", flat=True))
    pool = sentences()
    now = timezone.now()
    conversation_rows = Conversation.objects.bulk_create(
        [Conversation(kind="group", title=f"工作群{n}", history_visible=rng.random() >= 0.05) for n in range(conversations)]
    )
    # Uneven sizes: a few busy groups, many quiet ones (weights ~ 1/rank).
    weights = [1 / (rank + 1) ** 0.8 for rank in range(conversations)]
    rng.shuffle(weights)
    scale = messages / sum(weights)
    counts = [max(1, int(w * scale)) for w in weights]
    counts[0] += messages - sum(counts)
    if counts[0] < 1:
        raise SystemExit("too few messages for that many conversations")
    members: dict[int, list[int]] = {}
    membership_rows = []
    for conversation, count in zip(conversation_rows, counts, strict=True):
        people = rng.sample(users, rng.randint(3, 12))
        members[conversation.pk] = people
        for index, user_id in enumerate(people):
            # In a group hiding its history, the last members joined half-way.
            joined = count // 2 if (not conversation.history_visible and index >= len(people) - 2) else 0
            role = "owner" if index == 0 else "member"
            membership_rows.append(
                Membership(conversation=conversation, user_id=user_id, role=role, joined_seq=joined, last_read_seq=count)
            )
    Membership.objects.bulk_create(membership_rows, batch_size=5000)
    start = now - dt.timedelta(days=365)
    chars = 0
    written = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY messaging_message (conversation_id, seq, sender_id, client_id, kind, body, mention_all, created_at) FROM STDIN"
        ) as copy:
            for conversation, count in zip(conversation_rows, counts, strict=True):
                people = members[conversation.pk]
                step = dt.timedelta(days=365) / count
                for seq in range(1, count + 1):
                    body = chat_line(rng, pool)
                    chars += len(body)
                    written += 1
                    copy.write_row((conversation.pk, seq, rng.choice(people), f"b{conversation.pk}-{seq}", "text", body,
                                    False, start + step * seq))
                    if written % 50_000 == 0:
                        print(f"\r  inserted {written}/{messages} messages", end="", flush=True)
        print(f"\r  inserted {written}/{messages} messages")
        cursor.execute(
            "UPDATE messaging_conversation c SET last_seq = m.n, last_message_at = m.at FROM "
            "(SELECT conversation_id, max(seq) n, max(created_at) at FROM messaging_message GROUP BY conversation_id) m "
            "WHERE m.conversation_id = c.id"
        )
        # What mark_for_index writes for each sent message.
        cursor.execute(
            "INSERT INTO indexing_indexchange (kind, object_id, created_at, available_at, attempts, last_error) "
            "SELECT 'message', id, now(), now(), 0, '' FROM messaging_message ORDER BY id"
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - t0, round(chars / max(1, written))


def bench_indexing(batch: int, raw_batches: int) -> dict[str, Any]:
    from officehub.indexing.models import IndexChange
    from search import es, live_indexer
    from search.services import change_drain

    client = es.client(timeout=120)
    raw_index = f"{es.alias_name(es.MESSAGES)}-raw"
    client.indices.delete(index=raw_index, ignore_unavailable=True)
    client.indices.create(index=raw_index, **es.index_body(es.MESSAGES))
    es.ensure_index(client, es.MESSAGES)
    total = IndexChange.objects.count()
    per_batch: list[float] = []
    raw: list[tuple[int, float]] = []
    drained = 0
    seconds = 0.0
    while True:
        if len(per_batch) < raw_batches:
            # The batch the drain will claim, built untimed and sent raw after the drain (same
            # documents and versions). Building it first puts the rows in PostgreSQL's cache,
            # where the worker finds just-sent messages too.
            rows = list(IndexChange.objects.order_by("available_at", "id").values_list("object_id", "id")[:batch])
            body = live_indexer.bulk_body(live_indexer.build_actions("message", dict(rows))).replace(
                es.alias_name(es.MESSAGES).encode(), raw_index.encode()
            )
        else:
            body = b""
        t0 = time.perf_counter()
        done = change_drain(limit=batch)
        elapsed = time.perf_counter() - t0
        if done == 0:
            break
        drained += done
        seconds += elapsed
        per_batch.append(done / elapsed)
        if body:
            t1 = time.perf_counter()
            response = client.bulk(body=body, filter_path="errors")  # type: ignore[arg-type]
            raw.append((body.count(b'"index"'), time.perf_counter() - t1))
            assert response["errors"] is False, "raw bulk reported errors"
        print(f"\r  indexed {drained}/{total} ({drained / seconds:,.0f} msgs/s)", end="", flush=True)
    print()
    assert drained == total and not IndexChange.objects.exists(), "outbox rows left"
    client.indices.refresh(index=es.alias_name(es.MESSAGES))
    count = client.count(index=es.alias_name(es.MESSAGES))["count"]
    assert count == total, f"index holds {count}, expected {total}"
    ordered = sorted(per_batch)
    figures = {
        "messages": drained,
        "ours_msgs_per_s": round(drained / seconds),
        "ours_batch_min": round(ordered[0]),
        "ours_batch_median": round(statistics.median(ordered)),
        "ours_batch_max": round(ordered[-1]),
    }
    if raw:
        figures["raw_bulk_msgs_per_s"] = round(sum(n for n, _ in raw) / sum(s for _, s in raw))
    client.indices.delete(index=raw_index, ignore_unavailable=True)
    return figures


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_clients(clients: int, seconds: float, call: Any) -> list[float]:
    """``clients`` threads calling ``call(client_index, n)`` back to back; latencies in ms."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def loop(index: int) -> None:
        barrier.wait()
        n = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            call(index, n)
            latencies[index].append((time.perf_counter() - t0) * 1000)
            n += 1

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [value for per in latencies for value in per]


def bench_queries(clients: int, seconds: float, http_workers: int) -> dict[str, Any]:
    from elasticsearch import Elasticsearch
    from rest_framework.authtoken.models import Token

    from bench.common import Served, bench_env
    from officehub.directory.models import User
    from search import es
    from search.global_search import _archive_count_body, document_viewer, message_scope
    from search.live_query import document_search_body, message_search_body
    from search.query import SearchParams

    users = [User.objects.get(username=name) for name in BENCH_USERS[:clients]]
    if len(users) < clients:
        raise SystemExit(f"at most {len(BENCH_USERS)} clients")
    tokens = [Token.objects.get_or_create(user=user)[0].key for user in users]
    # Each user's raw bodies: exactly what the API sends for that user and query.
    msearch: list[list[list[dict[str, Any]]]] = []
    single: list[list[dict[str, Any]]] = []
    for user in users:
        scope, viewer = message_scope(user), document_viewer(user)
        per_user = []
        per_single = []
        for q in QUERIES:
            params = SearchParams(q=q, page=1, page_size=20)
            body = message_search_body(scope, params, hits=True)
            per_single.append(body)
            per_user.append([
                {"index": es.alias_name(es.MESSAGES), "ignore_unavailable": True}, body,
                {"index": es.alias_name(es.DOCUMENTS), "ignore_unavailable": True},
                document_search_body(viewer, params, hits=False),
                {"index": es.alias_name(es.ARCHIVES), "ignore_unavailable": True}, _archive_count_body(user, params),
            ])
        msearch.append(per_user)
        single.append(per_single)
    memberships = [len(message_scope(user).floors) for user in users]
    es_clients = [Elasticsearch(os.environ["OFFICEHUB_ELASTICSEARCH_URL"], request_timeout=30) for _ in range(clients)]

    def raw_msearch(index: int, n: int) -> None:
        es_clients[index].msearch(searches=msearch[index][(n + index) % len(QUERIES)])

    def raw_single(index: int, n: int) -> None:
        es_clients[index].search(index=es.alias_name(es.MESSAGES), body=single[index][(n + index) % len(QUERIES)])

    database_url = os.environ["OFFICEHUB_DATABASE_URL"].rpartition("/")[0] + "/" + connection.settings_dict["NAME"]
    env = bench_env(database_url, redis_url=os.environ["OFFICEHUB_REDIS_URL"], prefix="bench-messages")
    results: dict[str, list[float]] = {"ours": [], "raw": [], "raw_single": []}
    hits = [0]
    with Served(env, http_workers=http_workers, workers=0) as served:
        host, port = "127.0.0.1", served.port
        connections = [http.client.HTTPConnection(host, port, timeout=30) for _ in range(clients)]

        def ours(index: int, n: int) -> None:
            q = QUERIES[(n + index) % len(QUERIES)]
            conn = connections[index]
            conn.request("GET", "/api/search/?" + urlencode({"q": q, "tab": "messages"}),
                          headers={"Authorization": f"Token {tokens[index]}"})
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {payload[:300]!r}")
            data = json.loads(payload)
            if data["degraded"]:
                raise RuntimeError("the API answered from the database (Elasticsearch unavailable)")
            hits[0] += len(data["results"])

        # Warm both paths (connections, caches, jieba in the HTTP workers).
        run_clients(clients, 3, ours)
        run_clients(clients, 2, raw_msearch)
        hits[0] = 0
        for round_ in range(2):
            half = seconds / 2
            results["raw"] += run_clients(clients, half, raw_msearch)
            results["ours"] += run_clients(clients, half, ours)
            results["raw_single"] += run_clients(clients, half / 2, raw_single)
            print(f"  round {round_ + 1}: ours p95 {pct(results['ours'], .95):.1f} ms, raw p95 {pct(results['raw'], .95):.1f} ms")
    return {
        "clients": clients,
        "memberships_per_user": round(statistics.mean(memberships)),
        "hits_per_page": round(hits[0] / max(1, len(results["ours"])), 1),
        "ours_requests": len(results["ours"]),
        "ours_p50_ms": round(pct(results["ours"], .5), 1),
        "ours_p95_ms": round(pct(results["ours"], .95), 1),
        "raw_msearch_p50_ms": round(pct(results["raw"], .5), 1),
        "raw_msearch_p95_ms": round(pct(results["raw"], .95), 1),
        "raw_message_query_p50_ms": round(pct(results["raw_single"], .5), 1),
        "raw_message_query_p95_ms": round(pct(results["raw_single"], .95), 1),
        "ours_per_s": round(len(results["ours"]) / seconds, 1),
        "raw_msearch_per_s": round(len(results["raw"]) / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--raw-batches", type=int, default=10)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30, help="query time per side (0: skip queries)")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database and indices afterwards")
    parser.add_argument("--database", help="throw-away database name (default <name>_bench_messages)")
    args = parser.parse_args()

    from officehub.demo import seed_demo
    from search import es

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.database or f"{old_name}_bench_messages"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    client = es.client(timeout=120)

    def drop_indices() -> None:
        for kind in (es.MESSAGES, es.DOCUMENTS, es.ARCHIVES):
            for name in list(client.indices.get(index=f"{es.alias_name(kind)}*", allow_no_indices=True)):
                client.indices.delete(index=name)

    try:
        drop_indices()
        with transaction.atomic():
            seed_demo()
        load_at_start = os.getloadavg()[0]
        print(f"OfficeHub message search benchmark — {args.messages:,} messages in {args.conversations:,} conversations, "
              f"batch {args.batch}, {args.clients} clients")
        print(f"  load average {load_at_start:.1f} on {os.cpu_count()} CPUs (other work on this machine slows both sides)")
        seconds, chars = setup(args.messages, args.conversations)
        print(f"  setup {seconds:.0f} s; {chars} characters per message on average")
        figures = bench_indexing(args.batch, args.raw_batches)
        print(f"indexing: change_drain {figures['ours_msgs_per_s']:,} msgs/s over the run (aim ≥ 500), per batch "
              f"min {figures['ours_batch_min']:,} / median {figures['ours_batch_median']:,} / max {figures['ours_batch_max']:,}")
        if "raw_bulk_msgs_per_s" in figures:
            print(f"          raw _bulk of the same documents {figures['raw_bulk_msgs_per_s']:,} msgs/s "
                  f"(first {args.raw_batches} batches)")
        if args.seconds > 0:
            queries = bench_queries(args.clients, args.seconds, args.http_workers)
            figures.update(queries)
            print(f"queries ({args.clients} concurrent users, {queries['memberships_per_user']} conversations each, "
                  f"{queries['hits_per_page']} hits/page, {queries['ours_requests']} API requests)")
            print(f"  raw message query     p50 {queries['raw_message_query_p50_ms']:7.1f} ms   "
                  f"p95 {queries['raw_message_query_p95_ms']:7.1f} ms")
            print(f"  raw _msearch (same 3) p50 {queries['raw_msearch_p50_ms']:7.1f} ms   "
                  f"p95 {queries['raw_msearch_p95_ms']:7.1f} ms")
            ratio = queries["ours_p95_ms"] / queries["raw_msearch_p95_ms"]
            print(f"  ours API              p50 {queries['ours_p50_ms']:7.1f} ms   p95 {queries['ours_p95_ms']:7.1f} ms   "
                  f"(aim p95 < 100 ms and ≤ 2× raw: {ratio:.2f}× the _msearch, "
                  f"{queries['ours_p95_ms'] / queries['raw_message_query_p95_ms']:.2f}× the message query)")
        print(f"  load average now {os.getloadavg()[0]:.1f} (at start {load_at_start:.1f}) on {os.cpu_count()} CPUs")
        print(json.dumps(figures))
    finally:
        if not args.keep:
            drop_indices()
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
