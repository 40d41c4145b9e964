"""督办 dashboard benchmark: every view at scale, each next to the raw SQL of the same
aggregation, in the same run.

Run:  .venv/bin/python bench/dashboard.py [--documents 100000] [--steps-per-document 10]
                                          [--messages 200000] [--repeat 15] [--keep-db]

What it does:

1. creates (or, with ``--keep-db``, reuses) the throw-away database
   ``<name>_bench_dashboard``, migrated, with the demo organisation;
2. bulk-loads rows directly with COPY (no services: the point is the read side):
   ``--documents`` 公文 started evenly over the last year (70 % outgoing, 30 % incoming
   copies), ``--steps-per-document`` steps each taking ~10 hours (exponential): those
   whose flow has not ended by now wait at that step, and ``--stuck`` (4 %) more wait at
   some step since up to 60 days (a document in circulation carries its earlier rounds
   as returned steps, so every document has the same number of steps); 会签, 承办 and 传阅
   steps carry a department; ~10 % of finished steps were returns; one 催办 per 20 steps,
   a sealing record per 5 outgoing documents, ``--messages`` chat messages over the year;
   then VACUUM ANALYZE;
3. times, for the demo 督查 (tangning: the whole 省政府 tree, about 80 % of the rows), each
   dashboard view — the selector (ORM query + Python assembly) and, beside it, the
   hand-written SQL of the same aggregation run on the same connection — over the
   default 30-day range and over a whole year; then the full page (``GET /oversight/``
   through Django's test client: every view, the template, the tables and chart data)
   and the heaviest API endpoint. p50/p95 of ``--repeat`` runs after one warm-up.

Aim: the heaviest view under 300 ms at 100,000 documents and 1,000,000 steps.
Django is set up with the same defaults as scripts/lib.sh (PostgreSQL on 127.0.0.1; any
OFFICEHUB_* variable already set wins).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULTS = {
    "OFFICEHUB_DEBUG": "false",
    "OFFICEHUB_HTTPS": "false",
    "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "OFFICEHUB_DATABASE_URL": "postgres://officehub:officehub@127.0.0.1:5432/officehub",
    "OFFICEHUB_REDIS_URL": "redis://127.0.0.1:6379/0",
    "OFFICEHUB_CHANNEL_PREFIX": "bench-dashboard",
    "OFFICEHUB_STATIC_MANIFEST": "false",
    "OFFICEHUB_LOG_LEVEL": "WARNING",
}
for key, value in DEFAULTS.items():
    os.environ.setdefault(key, value)
os.environ.setdefault("OFFICEHUB_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(48)).decode())
if "OFFICEHUB_SEAL_KEK" not in os.environ and "OFFICEHUB_SEAL_KEK_FILE" not in os.environ:
    os.environ["OFFICEHUB_SEAL_KEK"] = base64.b64encode(os.urandom(32)).decode()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

OUTGOING_FLOW = ["draft", "review", "countersign", "countersign", "sign_off", "recheck", "assign_number", "seal", "distribute"]
INCOMING_FLOW = ["receive", "register", "screen", "propose", "instruct", "handle", "handle", "circulate", "circulate"]
DEPARTMENT_KINDS = {"countersign", "handle", "circulate"}
HOUR = 3600.0


# --------------------------------------------------------------------------- loading


def copy_rows(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg 3
        with raw.cursor() as pg, pg.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # table names are this script's constants
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # noqa: S608


def load(args: argparse.Namespace) -> None:
    from messaging.models import Conversation, ConversationKind
    from officehub.demo import seed_demo
    from officehub.directory.models import Department, User
    from seals.models import CertificateAuthority, Seal, SealKind, SealStatus

    rng = random.Random(15)
    now = timezone.now()
    with transaction.atomic():
        seed_demo()
    organisations = list(Department.objects.filter(is_organisation=True).order_by("pk"))
    divisions = {org.pk: [d.pk for d in Department.objects.filter(parent=org, is_organisation=False)] for org in organisations}
    people = {org.pk: [(u.pk, u.department_id) for u in User.objects.filter(department__path__startswith=org.path)]
              for org in organisations}
    province = Department.objects.get(name="浙江省人民政府")
    in_province = [org for org in organisations if org.path.startswith(province.path) and people[org.pk]]
    elsewhere = [org for org in organisations if not org.path.startswith(province.path) and people[org.pk]]
    fallback_user, fallback_department = User.objects.values_list("pk", "department_id").order_by("pk")[0]

    def pick_org() -> Department:
        return rng.choice(in_province) if rng.random() < 0.8 or not elsewhere else rng.choice(elsewhere)

    documents: list[tuple[Any, ...]] = []
    steps: list[tuple[Any, ...]] = []
    holders: list[tuple[Any, ...]] = []
    reminders: list[tuple[Any, ...]] = []
    outgoing_ids: list[tuple[int, int]] = []  # (id, issuer)
    n_out = int(args.documents * 0.7)
    step_id = 0
    started = time.perf_counter()
    for doc_id in range(1, args.documents + 1):
        outgoing = doc_id <= n_out
        if outgoing:
            org = pick_org()
            issuer, recipient, source = org.pk, None, None
            outgoing_ids.append((doc_id, issuer))
        else:
            source, issuer = outgoing_ids[doc_id - n_out - 1]
            choices = [o for o in organisations if o.pk != issuer and people[o.pk]]
            org = rng.choice([o for o in choices if o in in_province] if rng.random() < 0.8 else choices)
            recipient = org.pk
        drafter, drafting_department = rng.choice(people[org.pk]) if people[org.pk] else (fallback_user, fallback_department)
        flow = OUTGOING_FLOW if outgoing else INCOMING_FLOW
        count = args.steps_per_document
        durations = [rng.expovariate(1 / (10 * HOUR)) + 300 for _ in range(count)]
        kinds = [flow[i % len(flow)] for i in range(count)]
        cut: int | None = None  # index in ``flow`` of the step the document waits at
        if rng.random() < args.stuck:
            # stuck: waiting for up to 60 days at some step
            cut, open_start = rng.randrange(1, len(flow)), now - dt.timedelta(days=rng.uniform(0, 60))
        else:
            start = now - dt.timedelta(days=rng.uniform(0, 365))
            at = start
            for index, seconds in enumerate(durations):
                if at + dt.timedelta(seconds=seconds) > now:  # still at this step now
                    cut, open_start = index % len(flow), at
                    break
                at += dt.timedelta(seconds=seconds)
        in_flow = cut is not None
        if cut is not None:
            # waiting at flow[cut]; the steps before it are earlier rounds (returns) of flow[:cut + 1]
            kinds = [flow[(cut - (count - 1 - i)) % (cut + 1)] for i in range(count)]
            durations[-1] = 0
            start = open_start - dt.timedelta(seconds=sum(durations[:-1]))
        last = kinds[-1]
        status = ("handle" if last == "circulate" else last) if in_flow else rng.choice(
            ["distributed", "archived"] if outgoing else ["concluded", "archived"])
        documents.append((
            doc_id, "outgoing" if outgoing else "incoming", "notice", status, "", 1, "", "normal", issuer, "", None,
            None, f"关于第{doc_id}号事项的通知", "", "[]", "", "", "", drafter, drafting_department, True, source,
            recipient, False, "", "", 1, start, start,
        ))
        at = start
        for index, kind in enumerate(kinds):
            step_id += 1
            is_open = in_flow and index == len(kinds) - 1
            finished = None if is_open else at + dt.timedelta(seconds=durations[index])
            state = "open" if is_open else ("returned" if rng.random() < 0.1 else "done")
            department = rng.choice(divisions[org.pk]) if kind in DEPARTMENT_KINDS and divisions[org.pk] else None
            due = at + dt.timedelta(days=3)
            steps.append((step_id, doc_id, kind, state, 1, department, "", drafter if not is_open else None,
                          "", "", at, finished, due, None))
            if is_open:
                holders.append((step_id, drafter))
            if step_id % 20 == 0:
                sent = at + dt.timedelta(seconds=durations[index] / 2 + 60)
                reminders.append((step_id, None, "", rng.random() < 0.6, "[]", sent))
            if finished is not None:
                at = finished
    print(f"  generated {len(documents):,} documents, {len(steps):,} steps, {len(reminders):,} reminders "
          f"in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    with transaction.atomic():
        copy_rows("documents_document", [
            "id", "direction", "doc_type", "status", "copy_number", "classification", "secrecy_period", "urgency",
            "issuer_id", "doc_number", "doc_year", "doc_serial", "title", "body", "attachments", "signature_name", "note",
            "printing_office", "drafter_id", "drafting_department_id", "needs_seal", "source_document_id",
            "recipient_organisation_id", "is_cc", "return_reason", "reply", "version", "created_at", "updated_at",
        ], documents)
        copy_rows("documents_step", [
            "id", "document_id", "kind", "state", "round", "department_id", "role", "actor_id", "outcome", "opinion",
            "started_at", "finished_at", "due_at", "last_reminded_at",
        ], steps)
        with connection.cursor() as cursor, cursor.connection.cursor() as pg:
            with pg.copy("COPY documents_step_holders (step_id, user_id) FROM STDIN") as copy:
                for row in holders:
                    copy.write_row(row)
        copy_rows("documents_reminder", ["id", "step_id", "actor_id", "message", "automatic", "recipient_ids", "created_at"],
                  [(i + 1, *row) for i, row in enumerate(reminders)])
    print(f"  copied documents, steps, holders, reminders in {time.perf_counter() - started:.1f} s")

    # Seals: one CA, one 公章 per organisation, a sealing record per ~5 outgoing documents.
    started = time.perf_counter()
    with transaction.atomic():
        ca = CertificateAuthority.objects.create(common_name="bench CA", organisation="bench", certificate_pem="x",
                                                 serial="1", key_id="bench-ca", wrapped_key=b"x")
        seals = Seal.objects.bulk_create([
            Seal(kind=SealKind.ORGANISATION, name=f"{org.name}公章", owner_organisation=org, status=SealStatus.ACTIVE,
                 valid_from=now - dt.timedelta(days=800), valid_until=now + dt.timedelta(days=800), authority=ca,
                 image=b"", key_id=f"bench-{org.pk}", wrapped_key=b"", certificate_pem="", serial=f"bench{org.pk}")
            for org in organisations
        ])
        seal_of = {seal.owner_organisation_id: seal.pk for seal in seals}
        records = [
            (seal_of[issuer], f"document:{doc_id}", "t", b"", "0" * 64, b"", created, fallback_user, created)
            for doc_id, issuer in outgoing_ids[:: 5]
            for created in [now - dt.timedelta(days=rng.uniform(0, 365))]
        ]
        copy_rows("seals_sealrecord", ["id", "seal_id", "document_ref", "title", "sealed_docx", "sha256", "signature",
                                       "signing_time", "actor_id", "created_at"], [(i + 1, *r) for i, r in enumerate(records)])

        # Messages: 500 group conversations, senders from the demo people.
        all_people = [pk for group in people.values() for pk, _ in group]
        conversations = Conversation.objects.bulk_create(
            [Conversation(kind=ConversationKind.GROUP, title=f"群{i}") for i in range(500)]
        )
        seqs = dict.fromkeys((c.pk for c in conversations), 0)
        messages = []
        for number in range(args.messages):
            conversation = rng.choice(conversations).pk
            seqs[conversation] += 1
            messages.append((number + 1, conversation, seqs[conversation], rng.choice(all_people), f"b{number}", "text",
                             "内容", False, now - dt.timedelta(days=rng.uniform(0, 365))))
        copy_rows("messaging_message", ["id", "conversation_id", "seq", "sender_id", "client_id", "kind", "body",
                                        "mention_all", "created_at"], messages)
        Conversation.objects.bulk_update(
            [Conversation(pk=pk, last_seq=seq) for pk, seq in seqs.items()], ["last_seq"], batch_size=500
        )
    print(f"  seals ({len(records):,} records) and {len(messages):,} messages in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], object], count: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


HELD = """((d.direction = 'outgoing' AND d.issuer_id = ANY(%(orgs)s))
          OR (d.direction = 'incoming' AND d.recipient_organisation_id = ANY(%(orgs)s)))"""
OFFICE = """COALESCE(s.department_id, CASE WHEN d.direction = 'outgoing' THEN d.drafting_department_id
                                          ELSE d.recipient_organisation_id END)"""
IN_FLOW = ["review", "countersign", "sign_off", "recheck", "assign_number", "seal", "distribute",
           "receive", "register", "screen", "propose", "instruct", "handle"]
STEPS = "FROM documents_step s JOIN documents_document d ON d.id = s.document_id"
RAW: dict[str, list[str]] = {
    "circulation": [
        f"SELECT s.kind, {OFFICE}, GROUPING(s.kind), GROUPING({OFFICE}), COUNT(DISTINCT s.document_id) {STEPS} "
        f"WHERE s.state = 'open' AND d.status = ANY(%(flow)s) AND {HELD} GROUP BY GROUPING SETS ((s.kind), ({OFFICE}), ())",
    ],
    "handling": [
        f"""SELECT s.kind, COUNT(*), AVG(EXTRACT(EPOCH FROM s.finished_at - s.started_at)),
                   PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM s.finished_at - s.started_at))
            {STEPS} WHERE s.finished_at >= %(start)s AND s.finished_at < %(end)s AND s.state IN ('done', 'returned')
            AND {HELD} GROUP BY s.kind""",  # noqa: S608 - constant fragments; values are parameters
    ],
    "overdue": [
        f"SELECT {OFFICE}, COUNT(*), COUNT(DISTINCT s.document_id), MIN(s.due_at) {STEPS} "
        f"WHERE s.state = 'open' AND s.due_at < now() AND {HELD} GROUP BY 1",
    ],
    "reminders": [
        f"""SELECT {OFFICE}, COUNT(*), COUNT(*) FILTER (WHERE NOT r.automatic), COUNT(*) FILTER (WHERE r.automatic)
            FROM documents_reminder r JOIN documents_step s ON s.id = r.step_id JOIN documents_document d ON d.id = s.document_id
            WHERE r.created_at >= %(start)s AND r.created_at < %(end)s AND {HELD} GROUP BY 1""",  # noqa: S608
    ],
    "seals": [
        """SELECT s.id, s.name, COUNT(r.id), MAX(r.created_at) FROM seals_seal s
           LEFT JOIN seals_sealrecord r ON r.seal_id = s.id AND r.created_at >= %(start)s AND r.created_at < %(end)s
           WHERE s.owner_organisation_id = ANY(%(orgs)s) GROUP BY s.id, s.name""",
    ],
    "messages": [
        """SELECT u.department_id, COUNT(*), COUNT(DISTINCT m.sender_id), COUNT(DISTINCT m.conversation_id)
           FROM messaging_message m JOIN directory_user u ON u.id = m.sender_id
           WHERE m.created_at >= %(start)s AND m.created_at < %(end)s AND u.department_id = ANY(%(departments)s)
           GROUP BY u.department_id""",
    ],
}


def bench(args: argparse.Namespace) -> None:
    from django.test import Client

    from officehub.directory.models import User
    from oversight import selectors
    from oversight.scope import Filters, dashboard_scope

    viewer = User.objects.get(username="tangning")
    scope = dashboard_scope(viewer)
    today = timezone.localdate()
    ranges = {"30 days": Filters(today - dt.timedelta(days=29), today),
              "365 days": Filters(today - dt.timedelta(days=364), today)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM documents_document")
        documents = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM documents_step")
        steps = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM documents_step WHERE state = 'open'")
        open_steps = cursor.fetchone()[0]
    print(f"\ndata: {documents:,} documents, {steps:,} steps ({open_steps:,} open); viewer tangning "
          f"(督查, {len(scope.organisation_ids)} organisations, {len(scope.department_ids)} departments)")

    views: dict[str, Callable[[Filters], object]] = {
        "circulation": lambda f: selectors.circulation(scope),
        "handling": lambda f: selectors.handling_times(scope, f),
        "overdue": lambda f: selectors.overdue_by_office(scope),
        "reminders": lambda f: selectors.reminder_counts(scope, f),
        "seals": lambda f: selectors.seal_use(scope, f),
        "messages": lambda f: selectors.message_activity(scope, f),
    }
    worst: tuple[float, str] = (0.0, "")
    client = Client()
    client.force_login(viewer)
    for label, filters in ranges.items():
        start, end = filters.window()
        params = {"orgs": sorted(scope.organisation_ids), "departments": sorted(scope.department_ids),
                  "flow": IN_FLOW, "start": start, "end": end}

        def raw(queries: list[str], params: dict[str, Any] = params) -> None:
            # the same transaction settings as the dashboard's requests (selectors.READ_SETTINGS)
            with transaction.atomic(), connection.cursor() as cursor:
                for statement in selectors.READ_SETTINGS:
                    cursor.execute(statement)
                for query in queries:
                    cursor.execute(query, params)
                    cursor.fetchall()

        print(f"\nrange: {label} ({filters.date_from} – {filters.date_to}); ms over {args.repeat} runs")
        print(f"  {'view':<12} {'selector p50':>13} {'p95':>8}   {'raw SQL p50':>12} {'p95':>8}   ratio p50")
        def run(view: Callable[[Filters], object], filters: Filters = filters) -> None:
            with selectors.dashboard_reads():  # as the page and the API run it
                view(filters)

        for name, view in views.items():
            ours = timed(lambda view=view: run(view), args.repeat)
            baseline = timed(lambda name=name: raw(RAW[name]), args.repeat)
            print(f"  {name:<12} {pct(ours, .5):13.1f} {pct(ours, .95):8.1f}   {pct(baseline, .5):12.1f} "
                  f"{pct(baseline, .95):8.1f}   {pct(ours, .5) / max(pct(baseline, .5), 0.01):6.2f}×")
            worst = max(worst, (pct(ours, .95), f"{name} ({label})"))

        # drill-down: the office with the most overdue steps
        offices = selectors.overdue_by_office(scope)
        if offices:
            office = offices[0]
            drill = timed(lambda office=office: run(lambda f: selectors.overdue_items(scope, viewer, office["office_id"])),
                          args.repeat)
            print(f"  {'drill-down':<12} {pct(drill, .5):13.1f} {pct(drill, .95):8.1f}   "
                  f"({office['office']}: {office['steps']:,} overdue steps, visibility checked per document)")

        query = filters.as_query()
        page = timed(lambda query=query: client.get("/oversight/", query), max(3, args.repeat // 3))
        api = timed(lambda query=query: client.get("/api/oversight/circulation/", query), args.repeat)
        print(f"  {'full page':<12} {pct(page, .5):13.1f} {pct(page, .95):8.1f}   (GET /oversight/: all views, template, charts)")
        print(f"  {'API circ.':<12} {pct(api, .5):13.1f} {pct(api, .95):8.1f}   (GET /api/oversight/circulation/)")
    print(f"\nheaviest view: {worst[1]} at p95 {worst[0]:.1f} ms (aim < 300 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--steps-per-document", type=int, default=10)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--stuck", type=float, default=0.04, help="share of documents stuck at a step (up to 60 days)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep-db", action="store_true", help="keep the loaded database and reuse it next time")
    args = parser.parse_args()

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_dashboard"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keep_db)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM documents_document")
            loaded = cursor.fetchone()[0]
        if loaded == 0:
            print(f"loading {args.documents:,} documents × {args.steps_per_document} steps into {test_name} …")
            load(args)
        else:
            print(f"reusing {test_name} ({loaded:,} documents already loaded)")
        bench(args)
    finally:
        if not args.keep_db:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
