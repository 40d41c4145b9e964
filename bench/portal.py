"""政务公开 portal benchmark: public search at N concurrent anonymous users on M published
documents, next to the raw Elasticsearch query, in one run.

Run:  .venv/bin/python bench/portal.py [--documents 100000] [--clients 20] [--requests 2000]
      [--rounds 2] [--http-workers 2] [--database NAME] [--keep] [--reuse]

What is measured, against the real PostgreSQL, Elasticsearch and Redis:

* setup (reported, not compared) — M published documents (titles from government topics
  and the 15 文种, bodies from sentences of ../shared/reference/digital-government.txt,
  issuers from the demo organisations, years 2015–2026, 发文字号 on most) bulk-inserted
  as distributed 主动公开 ``Document`` rows with their ``Publication``, their words
  (``PublicationText``: jieba per distinct sentence, joined) and a ``PortalOutbox`` row
  each, into a throw-away database ``<name>_bench_portal``; then indexed through the
  portal's own drain (``disclosure.services.portal_drain``, claim after claim, as the
  worker does), reported as documents/s.
* queries — a mix of Chinese words, quoted phrases, 发文字号, filters by issuer / year /
  文种, browsing without a query and later pages, sent by ``--clients`` concurrent
  anonymous clients (threads, one keep-alive connection each, closed loop: the next
  request leaves when the answer is in) to three targets, in alternating order per round:

  - page: ``GET /gk/?q=…`` through the served topology (``manage.py serve``: nginx →
    gunicorn workers): rate limit, conditional-GET check, Elasticsearch, the database
    re-check of every hit, facets, the HTML page;
  - api: ``GET /api/gk/documents/?q=…``, the same through DRF as JSON;
  - raw: the very query body the portal builds (``disclosure.query.portal_body``, words
    cut beforehand) POSTed straight to Elasticsearch's ``_search`` — the floor.

  p50 / p95 / p99 ms and requests/s per target; aim: page and api p95 < 100 ms. Two
  phases, each with its own served instance: *uncached* (``PORTAL_RESULT_CACHE_SECONDS=0``:
  every request asks Elasticsearch and PostgreSQL — the cost of a question nobody asked
  since the portal last changed) with raw beside it, then *shared cache* (the default:
  answers kept in Redis per question and portal version — what every later visitor
  asking a known question gets), where the revalidation of a page a client already has
  (``If-None-Match`` → 304) is measured too.
  The load generator, the web workers, PostgreSQL and Elasticsearch share the machine's
  cores, and other work on it counts too: the load average is printed.
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
from collections.abc import Callable
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
    "OFFICEHUB_CHANNEL_PREFIX": "bench-portal",
    "OFFICEHUB_ELASTICSEARCH_URL": "http://127.0.0.1:9200",
    "OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX": "bench-portal",
    "OFFICEHUB_STATIC_MANIFEST": "false",
    "OFFICEHUB_LOG_LEVEL": "WARNING",
    # The buckets are per address and every bench client has the same one.
    "OFFICEHUB_PORTAL_SEARCH_RATE": "100000000/min",
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
DOC_TYPES = {"notice": "通知", "opinion": "意见", "report": "报告", "request": "请示", "reply": "批复", "letter": "函",
             "circular": "通报", "minutes": "纪要", "decision": "决定", "announcement": "公告", "public_notice": "通告",
             "communique": "公报", "resolution": "决议", "order": "命令（令）", "motion": "议案"}
# Most 公文 are 通知, 意见, 报告, 函: weights like a real catalogue's.
DOC_TYPE_WEIGHTS = {"notice": 30, "opinion": 12, "report": 10, "letter": 10, "reply": 8, "circular": 6, "request": 6,
                    "minutes": 4, "decision": 4, "announcement": 3, "public_notice": 3, "communique": 1, "resolution": 1,
                    "order": 1, "motion": 1}
TOPICS = [
    "深化政务服务“一网通办”改革", "推进数字政府建设", "打破数据孤岛加强公共数据共享", "深化“放管服”改革",
    "推广应用浙政钉", "深化“最多跑一次”改革", "做好安全生产工作", "加强电子政务外网建设", "优化营商环境",
    "推进城市大脑建设", "加强网络安全保障", "开展政务信息资源目录编制", "规范电子证照应用", "加快掌上办事",
    "做好防汛防台工作", "加强档案数字化工作", "推进公共数据开放", "开展政务服务满意度评价", "深化机关效能建设",
    "推进一体化政务服务平台建设", "做好年度财政预算执行", "加强人工智能在政务领域应用", "做好政务公开工作",
    "公布行政事业性收费目录清单", "推进基层政务公开标准化规范化",
]
VERBS = ["关于", "关于进一步", "关于切实", "关于加快", "关于全面", "关于印发", "关于做好"]

QUERIES: list[dict[str, Any]] = [
    {"q": "一网通办"}, {"q": "数据孤岛"}, {"q": "数字政府 数据共享"}, {"q": "“政务服务平台”"},
    {"q": "放管服"}, {"q": "浙政钉", "doc_type": "notice"}, {"q": "2026年"}, {"q": "浙政办发〔2024〕15号"},
    {"q": "〔2025〕3号"}, {"q": "最多跑一次", "year": 2022}, {"q": "网络安全"}, {"q": "营商环境", "doc_type": "opinion"},
    {"q": "城市大脑 人工智能"}, {"q": "电子证照"}, {"q": "档案数字化"}, {"year": 2025, "doc_type": "report"},
    {"q": "ＡＩ"}, {"q": "互联互通"}, {"q": "安全生产", "page": 3}, {"q": "政务公开"}, {"q": "快递包裹"},
    {}, {"page": 2}, {"q": "政务公开", "issuer": "ISSUER"}, {"issuer": "ISSUER", "year": 2024},
    {"q": "“数字政府建设”", "year": 2026}, {"q": "公共数据开放", "page": 2}, {"q": "收费目录清单"},
]


def sentences() -> list[str]:
    text = REFERENCE.read_text(encoding="utf-8").replace("[bookmark: _GoBack]", "")
    parts = [s.strip() for s in re.split(r"(?<=[。；！？])", text) if len(s.strip()) >= 12]
    return [re.sub(r"\s+", "", s) for s in parts]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --------------------------------------------------------------------------- setup


def insert(count: int, *, seed: int = 15, chunk: int = 5000) -> float:
    """Bulk-insert ``count`` published documents with their words and outbox rows; returns
    the characters per second jieba cut (each distinct sentence and title once)."""
    from disclosure.models import PortalOutbox, Publication, PublicationText
    from documents.models import Direction, Document, DocumentStatus
    from officehub.directory.models import Department, User
    from search.text import DICTIONARY_VERSION, fold, segment

    rng = random.Random(seed)
    pool = sentences()
    issuers = list(Department.objects.filter(is_organisation=True).exclude(issuer_code="").order_by("pk"))
    issuer_weights = [8 if issuer.name.endswith("办公厅") else 2 for issuer in issuers]
    drafter = User.objects.get(username="wangfang")
    types, weights = list(DOC_TYPE_WEIGHTS), list(DOC_TYPE_WEIGHTS.values())
    words: dict[str, str] = {}
    seg_chars = 0
    seg_seconds = 0.0

    def cut(text: str) -> str:
        nonlocal seg_chars, seg_seconds
        found = words.get(text)
        if found is None:
            t0 = time.perf_counter()
            found = words[text] = segment(fold(text))
            seg_seconds += time.perf_counter() - t0
            seg_chars += len(text)
        return found

    serials: dict[tuple[int, int], int] = {}
    now = timezone.now()
    for start in range(0, count, chunk):
        rows = []
        for _ in range(min(chunk, count - start)):
            issuer = rng.choices(issuers, issuer_weights)[0]
            doc_type = rng.choices(types, weights)[0]
            year = rng.randint(2015, 2026)
            issued_on = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
            title = f"{rng.choice(VERBS)}{rng.choice(TOPICS)}的{DOC_TYPES[doc_type]}"
            lead = f"{title.removeprefix('关于')}有关事项如下。"
            picked = rng.sample(pool, rng.randint(2, 5))
            body = lead + "".join(picked)
            body_seg = " ".join([cut(lead), *(cut(sentence) for sentence in picked)])
            doc_number = ""
            if rng.random() < 0.75:
                serials[(issuer.pk, year)] = serials.get((issuer.pk, year), 0) + 1
                doc_number = f"{issuer.issuer_code}〔{year}〕{serials[(issuer.pk, year)]}号"
            rows.append((issuer, doc_type, issued_on, title, body, doc_number, cut(title), body_seg))
        with transaction.atomic():
            documents = Document.objects.bulk_create([
                Document(direction=Direction.OUTGOING, doc_type=doc_type, status=DocumentStatus.DISTRIBUTED,
                         classification=0, disclosure="proactive", issuer=issuer, doc_number=doc_number, title=title,
                         body=body, issued_on=issued_on, drafter=drafter, drafting_department=drafter.department,
                         signature_name=issuer.name)
                for issuer, doc_type, issued_on, title, body, doc_number, _t, _b in rows
            ])
            publications = Publication.objects.bulk_create([
                Publication(document=document, issuer=issuer, issuer_name=issuer.name, title=title, doc_number=doc_number,
                            doc_type=doc_type, issued_on=issued_on, year=issued_on.year, body=body, published_at=now,
                            changed_at=now)
                for document, (issuer, doc_type, issued_on, title, body, doc_number, _t, _b) in zip(documents, rows, strict=True)
            ])
            PublicationText.objects.bulk_create([
                PublicationText(publication=publication, dictionary_version=DICTIONARY_VERSION, title_seg=title_seg,
                                body_seg=body_seg)
                for publication, (*_rest, title_seg, body_seg) in zip(publications, rows, strict=True)
            ])
            PortalOutbox.objects.bulk_create([PortalOutbox(publication=p, available_at=now) for p in publications])
        print(f"\r  inserted {start + len(rows)}/{count}", end="", flush=True)
    print()
    return seg_chars / seg_seconds if seg_seconds else 0.0


def index_all(batch: int) -> tuple[int, float]:
    from disclosure.index import alias_name
    from disclosure.services import portal_drain
    from search import es

    t0 = time.perf_counter()
    total = 0
    while True:
        drained = portal_drain(limit=batch)
        total += drained
        print(f"\r  indexed {total}", end="", flush=True)
        if drained == 0:
            break
    es.client(timeout=120).indices.refresh(index=alias_name())
    print()
    return total, time.perf_counter() - t0


# --------------------------------------------------------------------------- load


class Target:
    """One kind of request: ``send(connection, n)`` issues query ``n`` and returns the status."""

    def __init__(self, name: str, port: int, send: Callable[[http.client.HTTPConnection, int], int]) -> None:
        self.name, self.port, self.send = name, port, send


def run_load(target: Target, *, clients: int, requests: int, queries: int, seed: int) -> tuple[list[float], float]:
    """``clients`` threads, one keep-alive connection each, ``requests`` in all, closed loop.
    Returns the latencies (ms) and the wall time (s)."""
    per_client = max(1, requests // clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        order = [rng.randrange(queries) for _ in range(per_client)]
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        barrier.wait()
        for n in order:
            t0 = time.perf_counter()
            try:
                status = target.send(conn, n)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            latencies[index].append((time.perf_counter() - t0) * 1000)
            if status not in (200, 304):
                errors.append(f"status {status} for query {n}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{target.name}: {len(errors)} failed requests, e.g. {errors[:3]}")
    return [value for values in latencies for value in values], wall


def http_get(path_of: Callable[[int], str], headers: Callable[[int], dict[str, str]] | None = None
             ) -> Callable[[http.client.HTTPConnection, int], int]:
    def send(conn: http.client.HTTPConnection, n: int) -> int:
        conn.request("GET", path_of(n), headers=headers(n) if headers else {})
        response = conn.getresponse()
        response.read()
        return response.status

    return send


def warm_up(port: int, paths: list[str], *, clients: int) -> list[str]:
    """Every query once on every client's connection (so every web worker has loaded jieba
    and its connections), checking each answers 200 and is not degraded; returns the
    pages' ETags."""
    etags = [""] * len(paths)
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for n, path in enumerate(paths):
            conn.request("GET", f"/gk/?{path}")
            page = conn.getresponse()
            page.read()
            etags[n] = page.getheader("ETag") or ""
            conn.request("GET", f"/api/gk/documents/?{path}")
            api = conn.getresponse()
            payload = json.loads(api.read())
            if page.status != 200 or api.status != 200 or payload.get("degraded"):
                failures.append(f"{path}: page {page.status}, api {api.status} {str(payload)[:200]}")
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit("warm-up failed: " + "; ".join(failures[:3]))
    return etags


def measure(targets: list[Target], *, clients: int, requests: int, rounds: int, queries: int
            ) -> dict[str, tuple[list[float], list[float], list[float]]]:
    """Each target per round, in alternating order; per target: all latencies, the rate of
    each round and the p95 of each round."""
    results: dict[str, tuple[list[float], list[float], list[float]]] = {t.name: ([], [], []) for t in targets}
    for round_ in range(rounds):
        for target in targets if round_ % 2 == 0 else list(reversed(targets)):
            latencies, wall = run_load(target, clients=clients, requests=requests, queries=queries, seed=round_)
            values, rates, per_round = results[target.name]
            values += latencies
            rates.append(len(latencies) / wall)
            per_round.append(pct(latencies, 0.95))
            print(f"  round {round_ + 1} {target.name:5s} p50 {pct(latencies, .5):6.1f} ms  "
                  f"p95 {pct(latencies, .95):6.1f} ms  {len(latencies) / wall:6.0f} req/s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="requests per target and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2000, help="outbox rows per drain claim")
    parser.add_argument("--http-workers", type=int, default=2)
    parser.add_argument("--http-threads", type=int, default=4)
    parser.add_argument("--database", help="throw-away database name (default <name>_bench_portal)")
    parser.add_argument("--keep", action="store_true", help="keep the database and index afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse the database and index a --keep run left")
    args = parser.parse_args()

    from bench.common import Served, bench_env
    from disclosure.index import alias_name
    from disclosure.query import PortalParams, portal_body
    from officehub.demo import seed_demo
    from officehub.directory.models import Department
    from search import es

    old_name = connection.settings_dict["NAME"]
    name = args.database or f"{old_name}_bench_portal"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    client = es.client(timeout=120)
    load_at_start = os.getloadavg()[0]
    print(f"OfficeHub 政务公开 portal benchmark — {args.documents} documents, {args.clients} concurrent clients")
    print(f"  load average {load_at_start:.1f} on {os.cpu_count()} CPUs (everything below shares them)")
    if args.reuse:
        connection.settings_dict["NAME"] = name
        connection.close()
    else:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        for index in list(client.indices.get(index=f"{alias_name()}*", allow_no_indices=True)):
            client.indices.delete(index=index)
    figures: dict[str, Any] = {}
    try:
        if not args.reuse:
            with transaction.atomic():
                seed_demo()
            t0 = time.perf_counter()
            seg_rate = insert(args.documents)
            print(f"  inserted in {time.perf_counter() - t0:.0f} s (jieba {seg_rate:,.0f} characters/s on distinct text)")
            indexed, seconds = index_all(args.batch)
            print(f"  indexed through the portal drain: {indexed} documents in {seconds:.0f} s, {indexed / seconds:,.0f} docs/s")
            figures.update(indexed=indexed, drain_docs_per_s=round(indexed / seconds))
        count = client.count(index=alias_name())["count"]
        print(f"  index holds {count} documents")
        issuer = Department.objects.get(name="浙江省人民政府办公厅").pk
        queries = [{k: (issuer if v == "ISSUER" else v) for k, v in query.items()} for query in QUERIES]
        paths = [urlencode(query) for query in queries]
        bodies = [json.dumps(portal_body(PortalParams(
            q=str(query.get("q", "")), issuer_id=query.get("issuer"), year=query.get("year"),
            doc_type=str(query.get("doc_type", "")), page=int(query.get("page", 1)),
        ))).encode() for query in queries]
        es_host, _, es_port = os.environ["OFFICEHUB_ELASTICSEARCH_URL"].removeprefix("http://").partition(":")
        assert es_host == "127.0.0.1", "the raw target talks to a loopback Elasticsearch"

        database_url = f"{os.environ['OFFICEHUB_DATABASE_URL'].rpartition('/')[0]}/{name}"
        env = bench_env(database_url, redis_url=os.environ["OFFICEHUB_REDIS_URL"], prefix="bench-portal")
        env.update({key: os.environ[key] for key in ("OFFICEHUB_ELASTICSEARCH_URL", "OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX",
                                                     "OFFICEHUB_PORTAL_SEARCH_RATE")})

        def raw_send(conn: http.client.HTTPConnection, n: int) -> int:
            conn.request("POST", f"/{alias_name()}/_search", body=bodies[n], headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status

        for phase, cache_seconds in (("uncached", "0"), ("shared cache", "300")):
            # uncached: every request asks Elasticsearch and PostgreSQL (the cost of a new
            # question); shared cache: answers kept in Redis per question and portal version
            # (what a visitor asking a question someone asked since the last change gets).
            env["OFFICEHUB_PORTAL_RESULT_CACHE_SECONDS"] = cache_seconds
            with Served(env, sockets=1, http_workers=args.http_workers, workers=0,
                        extra=["--http-threads", str(args.http_threads)]) as served:
                port = served.port
                etags = warm_up(port, paths, clients=args.clients)
                targets = [
                    Target("page", port, http_get(lambda n: f"/gk/?{paths[n]}")),
                    Target("api", port, http_get(lambda n: f"/api/gk/documents/?{paths[n]}")),
                ]
                if phase == "uncached":
                    targets.append(Target("raw", int(es_port or 9200), raw_send))
                results = measure(targets, clients=args.clients, requests=args.requests, rounds=args.rounds,
                                  queries=len(queries))
                print(f"{phase}: {len(queries)} kinds of query, {args.clients} concurrent clients, "
                      f"{args.rounds} rounds × {args.requests} requests per target")
                labels = {"raw": "raw Elasticsearch", "api": "ours API", "page": "ours page"}
                for target_name in ("raw", "api", "page"):
                    if target_name not in results:
                        continue
                    values, rates, per_round = results[target_name]
                    print(f"  {labels[target_name]:18s} p50 {pct(values, .5):6.1f} ms   p95 {pct(values, .95):6.1f} ms   "
                          f"p99 {pct(values, .99):6.1f} ms   {statistics.mean(rates):5.0f} req/s   "
                          f"(p95 per round: {', '.join(f'{v:.0f}' for v in per_round)})")
                    prefix = "cached_" if cache_seconds != "0" else ""
                    figures[f"{prefix}{target_name}_p50_ms"] = round(pct(values, .5), 1)
                    figures[f"{prefix}{target_name}_p95_ms"] = round(pct(values, .95), 1)
                    figures[f"{prefix}{target_name}_req_per_s"] = round(statistics.mean(rates))
                if phase == "shared cache":
                    revalidate = Target("304", port, http_get(lambda n: f"/gk/?{paths[n]}",
                                                              lambda n, etags=etags: {"If-None-Match": etags[n]}))
                    not_modified, wall = run_load(revalidate, clients=args.clients, requests=args.requests,
                                                  queries=len(queries), seed=99)
                    print(f"  revalidation (304)  p50 {pct(not_modified, .5):6.1f} ms   "
                          f"p95 {pct(not_modified, .95):6.1f} ms   {len(not_modified) / wall:5.0f} req/s")
                    figures["revalidate_p95_ms"] = round(pct(not_modified, .95), 1)
        print(f"  load average now {os.getloadavg()[0]:.1f} (at start {load_at_start:.1f}) on {os.cpu_count()} CPUs")
        print(json.dumps({"documents": count, "clients": args.clients, **figures}))
    finally:
        if not args.keep:
            for index in list(client.indices.get(index=f"{alias_name()}*", allow_no_indices=True)):
                client.indices.delete(index=index)
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
