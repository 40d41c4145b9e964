"""档案检索 benchmark: indexing throughput and query latency, ours next to raw Elasticsearch.

Run:  .venv/bin/python bench/search.py [--records 100000] [--queries 300] [--batch 2000]
      [--database NAME] [--keep]   (--queries 0 skips the query part)

What is measured, in the same run, against the real PostgreSQL and Elasticsearch:

* setup (not compared) — N realistic Chinese archive records (titles from 文种 and
  government topics, bodies from sentences of ../shared/reference/digital-government.txt
  plus dated, numbered sentences, 发文字号 on most) bulk-inserted into a throw-away
  database ``<name>_bench_search``, with what the archive service does once per record
  at archive time: the jieba segmentation (reported as characters/s) and the record's
  part of its index document (``search.indexer.analysed_text``, records/s). The drain
  reuses both, as it does for records archived through the service.
* indexing — batch by batch (``--batch``, the worker's claim size), interleaved so machine
  noise hits both alike: raw: the ready NDJSON of the batch (built untimed beforehand,
  the same documents and external versions) sent with one ``_bulk`` to a plain index
  with the same mapping, reading back only ``errors`` (the least any writer must read);
  ours: ``search.services.index_drain(limit=batch)`` exactly as the worker calls it —
  claim outbox rows, read the records, build the documents, ``_bulk`` with external
  versions, mark rows done, commit. Who goes first alternates per batch (the second
  writer meets the first one's refreshes and merges in Elasticsearch), and both orders
  are reported apart. Reported as documents/s over the whole run, with the per-batch
  spread (min, p25, median, p75, max) of each side and of the per-batch ratio. At the
  end both indices must hold every record and no outbox row may be pending. Building
  raw's NDJSON reads the batch's rows just before ours does, so ours finds them in
  PostgreSQL's cache — as the worker does for freshly archived records. Set
  ``BENCH_PROFILE=1`` for a pyinstrument profile of the first drain. The machine's load
  average is printed: on a shared machine other work slows both sides, and the spread
  shows how much.
* queries — a mix of Chinese words, phrases, 发文字号, filters, facets and date sorting,
  as 何丽 (staff, permission filter applies): ours through the HTTP API
  (``/api/archives/search/`` with Django's test client: auth, parsing, Elasticsearch,
  the database re-check of every hit, serialisation), raw the same query body sent
  straight to Elasticsearch. p50/p95 ms; aim: ours p95 < 100 ms and ≤ 2 × raw.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULTS = {
    "OFFICEHUB_DEBUG": "false",
    "OFFICEHUB_HTTPS": "false",
    "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "OFFICEHUB_DATABASE_URL": "postgres://officehub:officehub@127.0.0.1:5432/officehub",
    "OFFICEHUB_REDIS_URL": "redis://127.0.0.1:6379/0",
    "OFFICEHUB_CHANNEL_PREFIX": "bench-search",
    "OFFICEHUB_ELASTICSEARCH_URL": "http://127.0.0.1:9200",
    "OFFICEHUB_ELASTICSEARCH_INDEX_PREFIX": "bench-search",
    "OFFICEHUB_STATIC_MANIFEST": "false",
    "OFFICEHUB_LOG_LEVEL": "WARNING",
    "OFFICEHUB_API_RATE_USER": "1000000/min",
}
for key, value in DEFAULTS.items():
    os.environ.setdefault(key, value)
os.environ.setdefault("OFFICEHUB_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(48)).decode())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

REFERENCE = Path("/work/shared/reference/digital-government.txt")
DOC_TYPES = ["notice", "opinion", "report", "request", "reply", "letter", "circular", "minutes", "decision"]
DOC_TYPE_WORDS = {"notice": "通知", "opinion": "意见", "report": "报告", "request": "请示", "reply": "批复",
                  "letter": "函", "circular": "通报", "minutes": "纪要", "decision": "决定"}
TOPICS = [
    "深化政务服务“一网通办”改革", "推进数字政府建设", "打破数据孤岛加强公共数据共享", "深化“放管服”改革",
    "推广应用浙政钉", "深化“最多跑一次”改革", "做好安全生产工作", "加强电子政务外网建设", "优化营商环境",
    "推进城市大脑建设", "加强网络安全保障", "开展政务信息资源目录编制", "规范电子证照应用", "加快掌上办事",
    "做好防汛防台工作", "加强档案数字化工作", "推进公共数据开放", "开展政务服务满意度评价", "深化机关效能建设",
    "推进一体化政务服务平台建设", "做好年度财政预算执行", "加强人工智能在政务领域应用",
]
VERBS = ["关于", "关于进一步", "关于切实", "关于加快", "关于全面"]


def sentences() -> list[str]:
    text = REFERENCE.read_text(encoding="utf-8").replace("[bookmark: _GoBack]", "")
    parts = [s.strip() for s in re.split(r"(?<=[。；！？])", text) if len(s.strip()) >= 12]
    return [re.sub(r"\s+", "", s) for s in parts]


def generate(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    pool = sentences()
    serials: dict[int, int] = {}
    rows = []
    for _ in range(count):
        year = rng.randint(2015, 2026)
        doc_type = rng.choice(DOC_TYPES)
        topic = rng.choice(TOPICS)
        title = f"{rng.choice(VERBS)}{topic}的{DOC_TYPE_WORDS[doc_type]}"
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        body = "".join(rng.sample(pool, rng.randint(2, 5)))
        body = f"{year}年{month}月{day}日，{title.removeprefix('关于')}有关事项如下。{body}"
        doc_number = ""
        if rng.random() < 0.7:
            serials[year] = serials.get(year, 0) + 1
            doc_number = f"浙政办发〔{year}〕{serials[year]}号"
        rows.append({
            "title": title, "body": body, "doc_type": doc_type, "doc_number": doc_number,
            "record_date": dt.date(year, month, day), "classification": 0 if rng.random() < 0.6 else 1,
            "retention": rng.choice(["Y", "D30", "D10"]), "unit_code": rng.choice(["", "BGS", "MSC", "ZHC", "DCC", "WDC"]),
        })
    return rows


def insert(rows: list[dict], chunk: int = 5000) -> tuple[float, float]:
    """Bulk-insert records, scope rows, outbox rows and their archive-time analysis (timed
apart: jieba, and the record's kept document)."""
    from officehub.directory.models import Department, User
    from search.files import sha256_hex
    from search.indexer import analysed_text
    from search.models import ArchiveRecord, ArchiveText, IndexOutbox, compose_archive_code
    from search.text import fold, segment

    office = Department.objects.get(name="浙江省人民政府办公厅")
    archivist = User.objects.get(username="xuhui")
    data = b"%PDF-1.4\n%%EOF\n"
    digest = sha256_hex(data)
    now = timezone.now()
    items: dict[tuple, int] = {}
    segment("预热")
    seg_seconds = doc_seconds = 0.0
    seg_chars = 0
    for start in range(0, len(rows), chunk):
        batch = []
        texts = []
        for row in rows[start : start + chunk]:
            key = (row["record_date"].year, row["retention"], row["unit_code"])
            items[key] = items.get(key, 0) + 1
            batch.append(ArchiveRecord(
                organisation=office, fonds_code="Z109", category="WS", year=row["record_date"].year,
                retention=row["retention"], unit_code=row["unit_code"], item_number=items[key],
                archive_code=compose_archive_code(fonds_code="Z109", category="WS", year=row["record_date"].year,
                                                  retention=row["retention"], unit_code=row["unit_code"], item_number=items[key]),
                page_count=2, responsible_party=office.name, title=row["title"], record_date=row["record_date"],
                classification=row["classification"], doc_number=row["doc_number"], doc_type=row["doc_type"],
                source="legacy", file_name="x.pdf", content_type="application/pdf", file_bytes=data, sha256=digest,
                content_text=row["body"], archived_by=archivist, archived_at=now,
            ))
        with transaction.atomic():
            created = ArchiveRecord.objects.bulk_create(batch)
            through = ArchiveRecord.scope_departments.through
            through.objects.bulk_create([through(archiverecord_id=r.pk, department_id=office.pk) for r in created])
            # What the archive service does per record (outside the timed drain): cut the
            # words, then build the record's part of its index document (search.indexer).
            segments = []
            t0 = time.perf_counter()
            for record in created:
                title, body = fold(record.title), fold(record.content_text)
                seg_chars += len(title) + len(body)
                segments.append((segment(title), segment(body)))
            t1 = time.perf_counter()
            for record, (title_seg, body_seg) in zip(created, segments, strict=True):
                texts.append(analysed_text(record, title_seg=title_seg, body_seg=body_seg))
            seg_seconds += t1 - t0
            doc_seconds += time.perf_counter() - t1
            ArchiveText.objects.bulk_create(texts)
            IndexOutbox.objects.bulk_create([IndexOutbox(record=r, available_at=now) for r in created])
        print(f"\r  inserted {min(start + chunk, len(rows))}/{len(rows)}", end="", flush=True)
    print()
    return seg_chars / seg_seconds, len(rows) / doc_seconds


def worker_like_heap() -> None:
    """Leave this process's heap as a drain worker's: without the generated rows and the
    jieba dictionary that setup loaded (the drain reuses the words cut at archive time and
    never loads jieba). Python's cyclic collector rescans the whole heap now and then
    while ours allocates, and setup's leftovers made each full pass several times longer
    (~90 ms with jieba loaded against ~40 ms without), a cost no worker pays."""
    from search import text

    text._segmenter = text._Segmenter()
    gc.collect()


class Pair(NamedTuple):
    """One batch: the same documents written raw and by ours, back to back."""

    docs: int
    raw_first: bool
    raw_seconds: float
    ours_seconds: float


def bench_indexing(batch: int) -> list[Pair]:

    from search import es
    from search.indexer import build_docs, bulk_body
    from search.models import IndexOutbox
    from search.services import index_drain

    client = es.client(timeout=120)
    raw_index = f"{es.alias_name()}-raw"
    client.indices.delete(index=raw_index, ignore_unavailable=True)
    client.indices.create(index=raw_index, **es.index_body())
    es.ensure_index(client)
    pairs: list[Pair] = []
    while True:
        # The batch ours will claim: the due rows in the drain's own claim order.
        ids = list(
            IndexOutbox.objects.filter(done_at__isnull=True)
            .order_by("available_at", "id")
            .values_list("record_id", "id")[:batch]
        )
        if not ids:
            break
        versions = dict(ids)
        body = bulk_body(build_docs(versions.keys(), versions))  # untimed: raw gets ready docs

        def raw_bulk(body: bytes = body) -> float:
            t0 = time.perf_counter()
            # The least a writer must read back: whether anything failed.
            response = client.bulk(index=raw_index, body=body, filter_path="errors")
            elapsed = time.perf_counter() - t0
            assert response["errors"] is False, "raw bulk reported errors"
            return elapsed

        def ours_drain(first: bool = not pairs) -> tuple[float, int]:
            profiler = None
            if os.environ.get("BENCH_PROFILE") and first:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.001)
                profiler.start()
            t0 = time.perf_counter()
            drained = index_drain(limit=batch)
            elapsed = time.perf_counter() - t0
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(color=False))
            return elapsed, drained

        # Alternate who goes first: the second writer of a pair meets the first one's
        # background work (refresh, merges) in Elasticsearch; both orders are reported.
        raw_first = len(pairs) % 2 == 0
        if raw_first:
            raw_seconds = raw_bulk()
            ours_seconds, drained = ours_drain()
        else:
            ours_seconds, drained = ours_drain()
            raw_seconds = raw_bulk()
        assert drained == len(ids), f"drained {drained} of {len(ids)}"
        pairs.append(Pair(drained, raw_first, raw_seconds, ours_seconds))
        print(f"\r  indexed {sum(p.docs for p in pairs)}", end="", flush=True)
    print()
    # Nothing lost: every outbox row is done and both indices hold every record.
    client.indices.refresh(index=f"{raw_index},{es.alias_name()}")
    done = sum(p.docs for p in pairs)
    assert not IndexOutbox.objects.filter(done_at__isnull=True).exists(), "outbox rows left pending"
    for name in (raw_index, es.alias_name()):
        count = client.count(index=name)["count"]
        assert count == done, f"{name} holds {count} documents, expected {done}"
    return pairs


def rate(pairs: list[Pair], which: str) -> float:
    return sum(p.docs for p in pairs) / sum(getattr(p, f"{which}_seconds") for p in pairs)


def spread(values: list[float], fmt: str = "{:,.0f}") -> str:
    """min / median / max, and the middle half (p25–p75)."""
    ordered = sorted(values)
    q = [ordered[min(len(ordered) - 1, int(f * len(ordered)))] for f in (0.25, 0.75)]
    return (f"min {fmt.format(ordered[0])}  p25 {fmt.format(q[0])}  median {fmt.format(statistics.median(ordered))}"
            f"  p75 {fmt.format(q[1])}  max {fmt.format(ordered[-1])}")


def report_indexing(pairs: list[Pair]) -> dict:
    raw, ours = rate(pairs, "raw"), rate(pairs, "ours")
    print(f"indexing ({len(pairs)} batches of up to {max(p.docs for p in pairs)}; the two alternate who goes first)")
    print(f"  raw _bulk (prepared NDJSON)    {raw:9,.0f} docs/s")
    print(f"  ours index_drain (outbox→ES)   {ours:9,.0f} docs/s   ratio {ours / raw:.2f}× (aim ≥ 0.7×)")
    print(f"  per batch, raw docs/s:   {spread([p.docs / p.raw_seconds for p in pairs])}")
    print(f"  per batch, ours docs/s:  {spread([p.docs / p.ours_seconds for p in pairs])}")
    print(f"  per batch, ours/raw:     {spread([p.raw_seconds / p.ours_seconds for p in pairs], '{:.2f}')}")
    figures = {"raw_docs_per_s": round(raw), "ours_docs_per_s": round(ours), "ratio": round(ours / raw, 3)}
    for label, raw_first in (("raw first", True), ("ours first", False)):
        subset = [p for p in pairs if p.raw_first is raw_first]
        if subset:
            ratio = rate(subset, "ours") / rate(subset, "raw")
            per_batch = spread([p.raw_seconds / p.ours_seconds for p in subset], "{:.2f}")
            print(f"  {label:10s} ({len(subset)} batches): raw {rate(subset, 'raw'):,.0f}, "
                  f"ours {rate(subset, 'ours'):,.0f} docs/s, ratio {ratio:.2f}×; per batch {per_batch}")
            figures["ratio_" + label.replace(" ", "_")] = round(ratio, 3)
    return figures


QUERIES = [
    {"q": "一网通办"}, {"q": "数据孤岛"}, {"q": "数字政府 数据共享"}, {"q": "“政务服务平台”"},
    {"q": "放管服", "sort": "date"}, {"q": "浙政钉", "doc_type": "notice"}, {"q": "2026年"},
    {"q": "浙政办发〔2024〕15号"}, {"q": "〔2025〕3号"}, {"q": "最多跑一次", "year_from": 2020, "year_to": 2023},
    {"q": "网络安全", "retention": "Y"}, {"q": "营商环境", "unit_code": "MSC"}, {"q": "城市大脑 人工智能"},
    {"q": "电子证照"}, {"q": "档案数字化", "sort": "date"}, {"year_from": 2025, "doc_type": "report"},
    {"q": "ＡＩ"}, {"q": "互联互通", "classification": 0}, {"q": "安全生产", "page": 3},
    {"q": "公共数据开放", "doc_type": ["opinion", "notice"]},
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_queries(count: int) -> tuple[list[float], list[float], float]:
    from urllib.parse import urlencode

    from django.http import QueryDict

    from officehub.directory.models import User
    from search import es
    from search.apis import parse_search
    from search.query import search_body
    from search.selectors import viewer_of

    staff = User.objects.get(username="heli")
    client = Client()
    client.force_login(staff)
    es_client = es.client()
    viewer = viewer_of(staff)
    bodies = [search_body(viewer, parse_search(QueryDict(urlencode(query, doseq=True)))) for query in QUERIES]
    ours: list[float] = []
    raw: list[float] = []
    hits = 0
    profile = None
    if os.environ.get("BENCH_PROFILE_QUERIES"):
        import cProfile

        profile = cProfile.Profile()
    for i in range(count + len(QUERIES)):  # the first round warms both paths
        if profile is not None and i == len(QUERIES):
            profile.enable()
        n = i % len(QUERIES)
        t0 = time.perf_counter()
        response = client.get("/api/archives/search/", QUERIES[n])
        elapsed = time.perf_counter() - t0
        assert response.status_code == 200 and not response.json()["degraded"], response.content[:300]
        hits += len(response.json()["hits"])
        t1 = time.perf_counter()
        es_client.search(index=es.alias_name(), body=bodies[n])
        raw_elapsed = time.perf_counter() - t1
        if i >= len(QUERIES):
            ours.append(elapsed * 1000)
            raw.append(raw_elapsed * 1000)
    if profile is not None:
        import pstats

        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    return ours, raw, hits / (count + len(QUERIES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database and indices afterwards")
    parser.add_argument("--database", help="throw-away database name (default <name>_bench_search)")
    args = parser.parse_args()

    from officehub.demo import seed_demo
    from search import es

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.database or f"{old_name}_bench_search"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    client = es.client(timeout=120)
    try:
        for name in list(client.indices.get(index=f"{es.alias_name()}*", allow_no_indices=True)):
            client.indices.delete(index=name)
        with transaction.atomic():
            seed_demo()
        load_at_start = os.getloadavg()[0]
        print(f"OfficeHub archive search benchmark — {args.records} records, batch {args.batch}, {args.queries} queries")
        print(f"  load average {load_at_start:.1f} on {os.cpu_count()} CPUs (other work on this machine slows both sides)")
        t0 = time.perf_counter()
        rows = generate(args.records)
        chars = sum(len(r["title"]) + len(r["body"]) for r in rows)
        elapsed = time.perf_counter() - t0
        print(f"  generated {len(rows)} records, {chars / len(rows):.0f} characters each on average ({elapsed:.1f} s)")
        seg_rate, doc_rate = insert(rows)
        print(f"  jieba segmentation (archive time, once per record): {seg_rate:,.0f} characters/s")
        print(f"  record documents   (archive time, once per record): {doc_rate:,.0f} records/s")
        del rows
        worker_like_heap()
        pairs = bench_indexing(args.batch)
        figures = report_indexing(pairs)
        if args.queries <= 0:
            print(json.dumps({"records": sum(p.docs for p in pairs), **figures}))
            return
        ours, raw, avg_hits = bench_queries(args.queries)
        print(f"queries ({len(ours)} timed, {len(QUERIES)} kinds, {avg_hits:.1f} hits/page on average, as staff)")
        print(f"  raw Elasticsearch  p50 {pct(raw, .5):7.1f} ms   p95 {pct(raw, .95):7.1f} ms")
        print(f"  ours API           p50 {pct(ours, .5):7.1f} ms   p95 {pct(ours, .95):7.1f} ms   "
              f"(aim p95 < 100 ms and ≤ 2× raw: {pct(ours, .95) / pct(raw, .95):.2f}×)")
        print(f"  mean ours {statistics.mean(ours):.1f} ms, mean raw {statistics.mean(raw):.1f} ms")
        print(f"  load average now {os.getloadavg()[0]:.1f} (at start {load_at_start:.1f}) on {os.cpu_count()} CPUs")
        print(json.dumps({"records": sum(p.docs for p in pairs), **figures,
                          "raw_p50_ms": round(pct(raw, .5), 1), "raw_p95_ms": round(pct(raw, .95), 1),
                          "ours_p50_ms": round(pct(ours, .5), 1), "ours_p95_ms": round(pct(ours, .95), 1)}))
    finally:
        if not args.keep:
            for name in list(client.indices.get(index=f"{es.alias_name()}*", allow_no_indices=True)):
                client.indices.delete(index=name)
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
