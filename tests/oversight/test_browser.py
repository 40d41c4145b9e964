"""Headless Chromium against a live Daphne: the 督办 dashboard draws a chart for each view
beside its table under the strict CSP, and a 公文 page carries the viewer's watermark
without it entering the copied text or taking a click."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from django.utils import timezone

from tests.conftest import browser_login
from tests.oversight.conftest import seed_mix

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright injects this through the DevTools protocol, outside the page's CSP.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

# How many pixels of a canvas are painted (alpha > 0): a drawn chart has thousands.
PAINTED = """(canvas) => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
}"""


def test_the_dashboard_draws_every_chart_beside_its_table(personas: Any, live_daphne: str, chromium: Any) -> None:
    seed_mix(personas)
    page = browser_login(chromium, live_daphne, "tangning")
    page.context.add_init_script(LISTEN)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_daphne}/oversight/")
        page.wait_for_load_state("networkidle")
        canvases = page.locator("canvas[data-chart]")
        keys = ["circulation-step", "circulation-office", "handling", "overdue", "reminders", "seals", "messages"]
        assert canvases.count() == len(keys)
        for key in keys:
            canvas = page.locator(f"#chart-{key}")
            assert canvas.get_attribute("data-chart-ready") == "true", key
            box = canvas.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, key
            assert canvas.evaluate(PAINTED) > 500, key
            table = page.locator(f"#table-{key}")
            assert table.locator("tbody tr").count() >= 1 and table.locator("caption").count() == 1, key
            assert canvas.get_attribute("role") == "img" and "表格" in (canvas.get_attribute("aria-label") or "")
        # 依申请公开 comes from the portal: its table is there, not 未启用.
        assert page.locator("#table-disclosure caption").count() == 1 and page.locator("#disabled-disclosure").count() == 0
        assert page.evaluate("window.__csp") == [] and errors == []

        # the organisation filter goes through the form
        page.select_option("#organisation", label="浙江省大数据发展管理局")
        page.click("#apply-filters")
        page.wait_for_load_state("networkidle")
        assert "organisation=" in page.url
        rows = page.locator("#table-circulation-step tbody tr")
        assert sorted(rows.all_inner_texts()) == ["登记\t1", "签收\t1"]
        assert page.locator("#chart-circulation-step").evaluate(PAINTED) > 500

        # the drill-down from the overdue table
        page.click("#table-overdue tbody tr:first-child a")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").inner_text().startswith("逾期明细")
    finally:
        page.context.close()


def test_a_document_page_carries_the_watermark_outside_the_copied_text(personas: Any, live_daphne: str, chromium: Any) -> None:
    from tests.documents import flow

    document = flow.to_review(personas, title="关于做好防汛防台工作的通知")
    page = browser_login(chromium, live_daphne, "wangfang")
    page.context.add_init_script(LISTEN)
    try:
        page.goto(f"{live_daphne}/documents/{document.pk}/")
        page.wait_for_load_state("networkidle")
        layer = page.locator("#watermark")
        page.wait_for_function("document.getElementById('watermark').dataset.watermarkReady === 'true'")
        style = layer.evaluate(
            """(el) => { const s = getComputedStyle(el);
                 return {pointer: s.pointerEvents, select: s.userSelect, position: s.position,
                         image: s.backgroundImage, text: el.innerText, children: el.childNodes.length}; }"""
        )
        assert style["pointer"] == "none" and style["select"] == "none" and style["position"] == "fixed"
        assert style["text"] == "" and style["children"] == 0
        tile = unquote(style["image"])
        today = timezone.localdate().isoformat()
        assert tile.startswith('url("data:image/svg+xml') and "王芳 wangfang" in tile and today in tile
        # the layer covers the page, yet a click lands on what is under it
        box = page.locator("h1").bounding_box()
        assert box is not None
        hit = page.evaluate(f"document.elementFromPoint({box['x'] + 5}, {box['y'] + box['height'] / 2}).tagName")
        assert hit == "H1"
        # select all, read the selection: the page's text, none of the watermark's words
        selection = page.evaluate(
            "() => { window.getSelection().selectAllChildren(document.body); return window.getSelection().toString(); }"
        )
        assert "关于做好防汛防台工作的通知" in selection
        assert "wangfang" not in selection
        assert "wangfang" not in page.evaluate("document.body.innerText")
        # removing the layer puts it back
        page.evaluate("document.getElementById('watermark').remove()")
        page.wait_for_function("document.getElementById('watermark') !== null")
        assert page.evaluate("window.__csp") == []
    finally:
        page.context.close()
