"""Chinese search quality on the portal, over the archive tests' corpus (the digital-
government article of ../shared/reference split into documents, tests/search/corpus.py):
the same matching as the archive (jieba words + per-character phrases), so the same
answers, plus cases about 政务公开 itself taken from the article. Every expected hit was
found by reading the article and checked with a plain substring search, not by our code."""

from __future__ import annotations

import pytest

from disclosure.query import PortalParams
from disclosure.selectors import portal_search
from officehub.directory.models import Department
from tests.disclosure.conftest import bulk_publications, drain
from tests.search.corpus import records

pytestmark = [pytest.mark.django_db, pytest.mark.elasticsearch]


@pytest.fixture
def corpus(demo, portal_index):
    bulk_publications(records())
    assert drain() == 36


def found(q: str, **params) -> list[str]:
    result = portal_search(PortalParams(q=q, page_size=50, **params))
    assert result["degraded"] is False
    return [hit["title"] for hit in result["hits"]]


def test_the_archive_cases_hold_on_the_portal(corpus):
    assert sorted(found("数据孤岛")) == ["“数据孤岛”现象仍然存在", "数字政府专题按语"]
    assert sorted(found("放管服")) == ["江苏：推进“一件事、一类事、一项事”改革"]
    assert sorted(found("整体智治")) == ["浙江：打造“整体智治”的现代政府"]
    hits = found("一网通办")
    assert sorted(hits[:2]) == ["上海：实施“一网通办”，建设数字政府", "辽宁：强势推进政务服务“一网通办”"]
    assert len(hits) == 4
    assert found("隐私 网络安全") == ["全面嵌入隐私保护需求，强化网络安全"]
    assert "数字政府是管理网络化政府" not in found("数据孤岛")  # 资源孤岛 is not a 数据孤岛


def test_open_government_terms_from_the_article(corpus):
    # Line 15: "…随时可以在网上查询办理进度，就像今天查询网购商品、快递包裹的送达行程那样。"
    assert found("快递包裹") == ["数字政府是政务公开化政府"]
    assert found("办理进度") == ["数字政府是政务公开化政府"]
    assert found("知情权 监督权") == ["数字政府是政务公开化政府"]
    assert found("查询 网购") == ["数字政府是政务公开化政府"]
    # 政务公开 is in two documents, the one titled with it first; a third has the words
    # 政务 and 公开 apart (found by the words, ranked after the phrase).
    assert found("政务公开") == ["数字政府是政务公开化政府", "建设规划逐步落实，政务服务和办公效能持续提高",
                             "“数据孤岛”现象仍然存在"]
    assert found("“政务公开”") == ["数字政府是政务公开化政府", "建设规划逐步落实，政务服务和办公效能持续提高"]
    # Line 16: "由串联审批改为并连审批" — as written, in quotes.
    assert found("“串联审批”") == ["数字政府是运行程序优化的政府"]


def test_filters_by_issuer_year_and_doc_type(corpus):
    # 互联互通 is in seven documents, three of them 报告 (all dated 2025).
    assert sorted(found("互联互通", doc_type="report")) == [
        "“数据孤岛”现象仍然存在", "业务系统未能互联互通", "建设成效开始显现，政府政务治理能力逐步提升",
    ]
    assert found("互联互通", doc_type="report", year=2026) == []
    assert sorted(found("互联互通", year=2026)) == sorted(["广东：整体政府理念下的“数字政府”", "构建信息网络支撑体系",
                                                         "构建信息资源共享体系", "数字政府专题按语"])
    bureau = Department.objects.get(name="浙江省大数据发展管理局")
    assert found("", issuer_id=bureau.pk) == ["２０２６年全省政务数据共享工作安排"]
    assert found("ＡＩ", issuer_id=bureau.pk) == ["２０２６年全省政务数据共享工作安排"]


def test_doc_numbers_and_full_width_variants(corpus):
    assert found("浙政办发〔2026〕12号") == ["数字政府专题按语"]
    assert found("浙政办发[2026]120号") == ["浙江：打造“整体智治”的现代政府"]
    both_ai = ["关于印发2026年数字政府建设工作要点的通知", "２０２６年全省政务数据共享工作安排"]
    assert sorted(found("AI")) == both_ai and sorted(found("ａｉ")) == both_ai


def test_an_empty_query_lists_the_newest_first_with_facets(corpus):
    result = portal_search(PortalParams(page_size=3))
    assert result["total"] == 36
    assert result["hits"][0]["title"] == "浙江：打造“整体智治”的现代政府"  # 2026-06-18, the newest
    years = {facet["value"]: facet["count"] for facet in result["facets"]["year"]}
    assert sum(years.values()) == 36 and set(years) == {"2024", "2025", "2026"}
