"""公文 benchmark: GB/T 9704 DOCX rendering and complete outgoing flows through the services.

Run:  .venv/bin/python bench/documents.py [--renders 200] [--flows 30]

What is measured, in the same run:

* render — ``documents.docx.render.render_docx`` of a three-page 通知 (red header,
  发文字号, four heading levels, 附件说明, signature and date, 版记), bytes out; p50/p95
  per document. Next to it, the floor: python-docx building an empty ``Document()`` and
  saving it, p50/p95. Aim: a three-page document under 150 ms at p50.
* seal step — what sealing a document costs now that it issues the 版式 copy: render the
  DOCX with the seal image, convert it to PDF/A (warm LibreOffice, re-rendered when the
  版记 lands on an odd page), CMS-sign the DOCX and PAdES-sign the PDF; each part timed,
  next to a bare LibreOffice conversion of the same DOCX and bare signing with the same
  key. Aim: the step's p50 within 1.3× of (bare conversion + bare signing), under 3 s.
* flows — complete outgoing flows through the service layer, each call in its own
  transaction as a request would run it: draft → submit → review → sign_off → recheck →
  assign_number → seal request → seal (render with the seal image, CMS-sign, store) →
  distribute (two incoming copies). Flows per second and ms per flow; aim: under 100 ms.
  A 纪要 (not sealed) flow is timed too, to show what the sealing costs.

Django is set up here with the same defaults as scripts/lib.sh (PostgreSQL and Redis on
127.0.0.1; any OFFICEHUB_* variable already set wins). The flows run in a throw-away
database ``<name>_bench_documents`` that is created, migrated, seeded and dropped.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULTS = {
    "OFFICEHUB_DEBUG": "false",
    "OFFICEHUB_HTTPS": "false",
    "OFFICEHUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "OFFICEHUB_DATABASE_URL": "postgres://officehub:officehub@127.0.0.1:5432/officehub",
    "OFFICEHUB_REDIS_URL": "redis://127.0.0.1:6379/0",
    "OFFICEHUB_CHANNEL_PREFIX": "bench-documents",
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
from docx import Document as EmptyDocument  # noqa: E402

from documents.docx.render import RenderInput, render_docx  # noqa: E402

PARAGRAPH = (
    "各地各部门要切实提高政治站位，把政务服务“一网通办”作为优化营商环境的重要抓手，"
    "坚持问题导向和目标导向，聚焦企业和群众办事的堵点难点，推动更多事项全程网办、掌上可办。"
)


def three_page_input() -> RenderInput:
    """A 通知 of five heading-and-paragraph pairs: three pages on the 22×28 grid."""
    headings = ["一、总体要求", "（一）指导思想", "1. 坚持以人民为中心", "（1）提升办事体验"]
    lines: list[str] = []
    doc = None
    for round_ in range(5):
        lines.append(headings[round_ % 4])
        lines.append(PARAGRAPH)
        doc = RenderInput(
            doc_type="notice",
            title="浙江省人民政府办公厅关于深化政务服务“一网通办”改革的通知",
            body="\n".join(lines),
            issuer_mark="浙江省人民政府办公厅文件",
            issuer_name="浙江省人民政府办公厅",
            doc_number="浙政办发〔2026〕12号",
            issued_on=__import__("datetime").date(2026, 1, 5),
            primary_recipients=["各市、县（市、区）人民政府", "省政府直属各单位"],
            cc_recipients=["省委各部门", "省人大常委会办公厅"],
            copy_number="000123",
            urgency_label="加急",
            attachments=["重点任务清单"],
            printing_office="浙江省人民政府办公厅",
            printed_on=__import__("datetime").date(2026, 1, 6),
        )
    assert doc is not None
    return doc


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


def bench_render(count: int) -> None:
    doc = three_page_input()

    def empty() -> bytes:
        out = io.BytesIO()
        EmptyDocument().save(out)
        return out.getvalue()

    size = len(render_docx(doc))
    ours = timed(lambda: render_docx(doc), count)
    floor = timed(empty, count)
    print(f"render: {count} × 3-page 通知 ({size // 1024} KiB)")
    print(f"  render_docx               p50 {pct(ours, .5):7.1f} ms   p95 {pct(ours, .95):7.1f} ms   (aim p50 < 150 ms)")
    print(f"  python-docx empty Document p50 {pct(floor, .5):7.1f} ms   p95 {pct(floor, .95):7.1f} ms")
    print(f"  ratio p50 (ours / empty)  {pct(ours, .5) / pct(floor, .5):.1f}×")


def bench_seal_step(count: int) -> None:
    """The sealing step with its 版式 copy, against its own floor measured in the same run:
    a bare LibreOffice conversion of the same DOCX plus bare signing (CMS over the DOCX,
    PAdES over the PDF) with the same key."""
    import datetime as dt

    from cryptography import x509

    from documents.docx.issue import issue_rendered
    from officehub.office.client import convert_docx, warm
    from seals import crypto, images, pades

    now = dt.datetime.now(dt.UTC)
    ca_key, ca_cert = crypto.create_root_ca(common_name="bench CA", organisation="bench", not_before=now - dt.timedelta(days=1))
    key = crypto.generate_seal_key()
    cert: x509.Certificate = crypto.issue_seal_certificate(
        ca_key=ca_key, ca_cert=ca_cert, seal_public_key=key.public_key(), organisation="浙江省人民政府办公厅",
        seal_name="浙江省人民政府办公厅公章", serial_number=None, not_before=now - dt.timedelta(hours=1),
        not_after=now + dt.timedelta(days=30),
    )
    png = images.render_round_seal(organisation="浙江省人民政府办公厅", diameter_mm=42)
    inputs = three_page_input()
    sealed_inputs = dataclasses.replace(inputs, seal_png=png)
    warm()
    docx = render_docx(sealed_inputs)

    def sign_both(docx: bytes, pdf: bytes, page: int, box: tuple[float, float, float, float]) -> bytes:
        crypto.sign_detached(docx, key=key, certificate=cert, chain=(ca_cert,))
        return pades.sign_pdf(pdf, key=key, certificate=cert, chain=[ca_cert], field_name="Seal1", page=page, box=box,
                              seal_png=png, reason="发文用印", location="杭州", name="公章")

    conversions: list[int] = []

    def step() -> None:  # what seal_sign does with the document's issue_copy
        copy = issue_rendered(sealed_inputs)
        conversions.append(copy.conversions)
        assert copy.seal_page is not None and copy.seal_box is not None
        sign_both(copy.docx, copy.pdf, copy.seal_page, copy.seal_box)

    first = convert_docx(docx).pdf
    page, box = pades.seal_box(first)
    render_ms = timed(lambda: render_docx(sealed_inputs), count)
    convert_ms = timed(lambda: convert_docx(docx), count)
    sign_ms = timed(lambda: sign_both(docx, first, page, box), count)
    step_ms = timed(step, count)
    floor = pct(convert_ms, .5) + pct(sign_ms, .5)
    print(f"seal step with the 版式 copy: {count} runs, warm LibreOffice")
    print(f"  render DOCX (with seal)     p50 {pct(render_ms, .5):7.1f} ms   p95 {pct(render_ms, .95):7.1f} ms")
    print(f"  bare LibreOffice conversion p50 {pct(convert_ms, .5):7.1f} ms   p95 {pct(convert_ms, .95):7.1f} ms")
    print(f"  bare signing (CMS + PAdES)  p50 {pct(sign_ms, .5):7.1f} ms   p95 {pct(sign_ms, .95):7.1f} ms")
    print(f"  sealing step (issue + sign) p50 {pct(step_ms, .5):7.1f} ms   p95 {pct(step_ms, .95):7.1f} ms")
    print(f"  step ÷ (bare conversion + bare signing) at p50: {pct(step_ms, .5) / floor:.2f}×   (aim ≤ 1.3×, under 3 s)")
    print(f"  conversions per sealing: {sorted(set(conversions))} (2 = the 版记 landed on an odd page and was moved: "
          f"a second render and conversion)")


def bench_flows(count: int) -> None:
    from documents import services
    from officehub.demo import seed_demo
    from officehub.directory.models import Department, Role, User
    from seals.models import SealKind
    from seals.services import ca_init, seal_activate, seal_issue

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_bench_documents"
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with transaction.atomic():
            seed_demo()
            ca_init(actor=None)
            office = Department.objects.get(name="浙江省人民政府办公厅")
            custodians = list(User.objects.filter(username="huangyan").values_list("pk", flat=True))
            seal = seal_issue(actor=None, kind=SealKind.ORGANISATION, owner_organisation_id=office.pk,
                              custodian_ids=custodians, check_permission=False)
            seal_activate(actor=None, seal_id=seal.pk, check_permission=False)
        users = {u.username: u for u in User.objects.filter(is_active=True).prefetch_related("role_assignments")}
        for user in users.values():
            user.has_role(Role.DRAFTER)  # warm the role cache as a request's user would be
        recipient_names = ["浙江省大数据发展管理局", "浙江省财政厅"]
        recipients = list(Department.objects.filter(name__in=recipient_names).values_list("pk", flat=True))
        body = three_page_input().body

        def call(service: Callable[..., object], **kwargs: object) -> object:
            with transaction.atomic():
                return service(**kwargs)

        def one_flow(doc_type: str) -> None:
            document = call(services.document_create_draft, actor=users["wangfang"], doc_type=doc_type,
                            title="关于深化政务服务改革的通知", body=body,
                            primary_recipient_ids=recipients[:1], cc_recipient_ids=recipients[1:])
            pk = document.pk  # type: ignore[attr-defined]
            call(services.document_submit, document_id=pk, actor=users["wangfang"])
            call(services.document_review, document_id=pk, actor=users["zhaomin"], approve=True, opinion="同意")
            call(services.document_sign_off, document_id=pk, actor=users["liuyang"], approve=True)
            call(services.document_recheck, document_id=pk, actor=users["sunli"], approve=True)
            call(services.document_assign_number, document_id=pk, actor=users["zhaomin"])
            if doc_type != "minutes":
                request = call(services.seal_request_create, document_id=pk, actor=users["wangfang"], seal_id=seal.pk)
                call(services.seal_request_decide, seal_request_id=request.pk, actor=users["huangyan"], approve=True)  # type: ignore[attr-defined]
            call(services.document_distribute, document_id=pk, actor=users["zhaomin"])

        # Where a flow's time goes on this machine: database round trips and live pushes.
        from django.test.utils import CaptureQueriesContext

        from officehub import realtime

        pushes: list[float] = []
        original_publish = realtime.publish_now

        def counting_publish(group: str, payload: dict) -> None:
            start = time.perf_counter()
            original_publish(group, payload)
            pushes.append((time.perf_counter() - start) * 1000)

        realtime.publish_now = counting_publish
        with CaptureQueriesContext(connection) as queries:
            one_flow("notice")
        realtime.publish_now = original_publish

        def select_one() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

        round_trip = timed(select_one, 200)
        if os.environ.get("BENCH_PROFILE"):
            for q in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:12]:
                print(f"  {float(q['time']) * 1000:6.1f} ms  {q['sql'][:150]}")
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"per sealed flow: {len(queries.captured_queries)} SQL statements taking {sql_ms:.0f} ms (SELECT 1 round trip p50 "
              f"{pct(round_trip, .5):.2f} ms), {len(pushes)} live 待办 pushes after commit "
              f"(p50 {pct(pushes, .5) if pushes else 0:.1f} ms each, {sum(pushes):.0f} ms in all)")
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()
            for _ in range(3):
                one_flow("minutes")
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)
        for doc_type, label in (("notice", "通知（含用印签章）"), ("minutes", "纪要（不用印）")):
            samples = timed(lambda doc_type=doc_type: one_flow(doc_type), count)
            total = sum(samples) / 1000
            print(f"flows: {count} × {label}: {count / total:6.1f} flows/s   p50 {pct(samples, .5):6.1f} ms   "
                  f"p95 {pct(samples, .95):6.1f} ms per flow   (aim < 100 ms)")
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)
        connection.settings_dict["NAME"] = old_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--flows", type=int, default=30)
    parser.add_argument("--seals", type=int, default=10, help="runs of the sealing step with its PDF")
    args = parser.parse_args()
    bench_render(args.renders)
    bench_seal_step(args.seals)
    bench_flows(args.flows)


if __name__ == "__main__":
    main()
