"""Chinese search quality over a realistic corpus (tests/search/corpus.py: the digital-
government article split into records). Every expected hit below was found by reading
the article (and checked with a plain substring search of the text), not by our code."""

from __future__ import annotations

import pytest

from search import es
from search.query import SearchParams
from search.selectors import archive_search
from search.services import index_drain
from search.text import words
from tests.search.conftest import bulk_records
from tests.search.corpus import records


@pytest.fixture
def corpus(personas, clean_index):
    organisation = personas.archivist.department.organisation()
    bulk_records(organisation, personas.archivist, records())
    assert index_drain(refresh=True) == 36
    return personas.staff


def found(user, q, **params):
    result = archive_search(user=user, params=SearchParams(q=q, page_size=50, **params))
    assert result["degraded"] is False
    return [hit["title"] for hit in result["hits"]]


def test_phrases_and_government_terms(corpus):
    assert sorted(found(corpus, "数据孤岛")) == ["“数据孤岛”现象仍然存在", "数字政府专题按语"]
    assert sorted(found(corpus, "放管服")) == ["江苏：推进“一件事、一类事、一项事”改革"]
    assert sorted(found(corpus, "浙政钉")) == [
        "关于印发2026年数字政府建设工作要点的通知",
        "建设规划逐步落实，政务服务和办公效能持续提高",
    ]
    assert sorted(found(corpus, "最多跑一次")) == ["上海：实施“一网通办”，建设数字政府", "２０２６年全省政务数据共享工作安排"]
    assert sorted(found(corpus, "整体智治")) == ["浙江：打造“整体智治”的现代政府"]
    # A quoted phrase must appear as written: 政务服务平台 is in three records.
    assert sorted(found(corpus, "“政务服务平台”")) == [
        "建设规划逐步落实，政务服务和办公效能持续提高",
        "浙江：打造“整体智治”的现代政府",
        "辽宁：强势推进政务服务“一网通办”",
    ]
    # 资源孤岛 (line 13) is not a 数据孤岛: the phrase does not match across words.
    assert "数字政府是管理网络化政府" not in found(corpus, "数据孤岛")


def test_title_matches_rank_first(corpus):
    hits = found(corpus, "一网通办")
    assert sorted(hits) == [
        "上海：实施“一网通办”，建设数字政府",
        "江苏：推进“一件事、一类事、一项事”改革",
        "浙江：打造“整体智治”的现代政府",
        "辽宁：强势推进政务服务“一网通办”",
    ]
    assert sorted(hits[:2]) == ["上海：实施“一网通办”，建设数字政府", "辽宁：强势推进政务服务“一网通办”"]


def test_words_apart_and_several_parts(corpus):
    # "数字技能计划" is not a phrase of the text; the words 数字, 技能 and 计划 occur together
    # in two records.
    assert sorted(found(corpus, "数字技能计划")) == ["四国政府数字化转型的愿景和目标", "推出数字技能提升计划"]
    assert found(corpus, "隐私 网络安全") == ["全面嵌入隐私保护需求，强化网络安全"]


def test_years_and_doc_numbers(corpus):
    assert sorted(found(corpus, "2026年")) == ["关于印发2026年数字政府建设工作要点的通知", "２０２６年全省政务数据共享工作安排"]
    assert sorted(found(corpus, "2020年")) == [
        "四国政府数字化转型的愿景和目标",
        "对数字政府建设重视程度明显加强",
        "数字政府专题按语",
        "辽宁：强势推进政务服务“一网通办”",
    ]
    # 〔2026〕12号: not 〔2026〕120号, not 〔2025〕12号, not GZ2025-12.
    assert sorted(found(corpus, "〔2026〕12号")) == ["广东：整体政府理念下的“数字政府”", "数字政府专题按语"]
    assert found(corpus, "浙政办发〔2026〕12号")[0] == "数字政府专题按语"
    assert found(corpus, "浙政办发〔2026〕12号") == ["数字政府专题按语"]
    assert found(corpus, "浙政办发[2026]120号") == ["浙江：打造“整体智治”的现代政府"]
    # Narrowed by year and 文种 (the third 2026 record, a 函 dated 2025, is not a 2026年 hit anyway).
    assert sorted(found(corpus, "2026年", year_from=2026, year_to=2026, doc_types=["notice"])) == [
        "关于印发2026年数字政府建设工作要点的通知",
        "２０２６年全省政务数据共享工作安排",
    ]
    assert found(corpus, "2026年", doc_types=["letter"]) == []


def test_full_and_half_width_variants_find_the_same_records(corpus):
    both_ai = ["关于印发2026年数字政府建设工作要点的通知", "２０２６年全省政务数据共享工作安排"]
    assert sorted(found(corpus, "AI")) == both_ai
    assert sorted(found(corpus, "ＡＩ")) == both_ai
    assert sorted(found(corpus, "ai")) == both_ai
    assert sorted(found(corpus, "２０２６年")) == both_ai
    assert found(corpus, "ｏａ") == ["数字政府是办公自动化政府"]
    assert sorted(found(corpus, "ＡＰＰ")) == ["浙江：打造“整体智治”的现代政府", "辽宁：强势推进政务服务“一网通办”"]


def test_the_user_dictionary_keeps_government_terms_whole(corpus):
    assert {"放管服", "一网通办", "浙政钉", "数据孤岛", "最多跑一次"} <= set(
        words("深化放管服改革，推进一网通办，依托浙政钉打破数据孤岛，最多跑一次")
    )
    assert "浙政办发" in words("浙政办发〔2026〕12号")
    doc = es.client().search(index=es.alias_name(), query={"term": {"body_seg": "放管服"}}, size=5)
    assert doc["hits"]["total"]["value"] == 1
