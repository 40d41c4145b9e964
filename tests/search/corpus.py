"""A realistic archive corpus: the digital-government article in ../shared/reference split
into records (one per section or numbered point), titled by the article's own headings,
plus three short synthetic notices that carry 2026 dates and full-width variants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REFERENCE = Path("/work/shared/reference/digital-government.txt")

# (title, line numbers of the article (1-based), doc_type, doc_number, date)
ARTICLE_RECORDS: list[tuple[str, tuple[int, ...], str, str, dt.date]] = [
    ("数字政府专题按语", (3,), "notice", "浙政办发〔2026〕12号", dt.date(2026, 1, 5)),
    ("数字政府的概念", (7, 11), "opinion", "", dt.date(2024, 3, 1)),
    ("数字政府是信息化政府", (12,), "opinion", "", dt.date(2024, 3, 2)),
    ("数字政府是管理网络化政府", (13,), "opinion", "", dt.date(2024, 3, 3)),
    ("数字政府是办公自动化政府", (14,), "opinion", "", dt.date(2024, 3, 4)),
    ("数字政府是政务公开化政府", (15,), "opinion", "", dt.date(2024, 3, 5)),
    ("数字政府是运行程序优化的政府", (16,), "opinion", "", dt.date(2024, 3, 6)),
    ("对数字政府建设重视程度明显加强", (21,), "report", "", dt.date(2025, 5, 1)),
    ("建设成效开始显现，政府政务治理能力逐步提升", (22,), "report", "", dt.date(2025, 5, 2)),
    ("建设规划逐步落实，政务服务和办公效能持续提高", (23,), "report", "", dt.date(2025, 5, 3)),
    ("“数据孤岛”现象仍然存在", (25, 26), "report", "", dt.date(2025, 5, 4)),
    ("业务系统未能互联互通", (27,), "report", "", dt.date(2025, 5, 5)),
    ("数字政府运行保障机制不健全", (28,), "report", "", dt.date(2025, 5, 6)),
    ("四国政府数字化转型的愿景和目标", (33, 34), "circular", "", dt.date(2025, 8, 1)),
    ("打造基于整体政府的统一数字平台", (36, 37), "circular", "", dt.date(2025, 8, 2)),
    ("推进政府数据共享和开放", (38,), "circular", "", dt.date(2025, 8, 3)),
    ("建立数字服务标准和关键绩效指标", (39,), "circular", "", dt.date(2025, 8, 4)),
    ("全面嵌入隐私保护需求，强化网络安全", (40,), "circular", "", dt.date(2025, 8, 5)),
    ("推出数字技能提升计划", (41,), "circular", "", dt.date(2025, 8, 6)),
    ("建立负责政府数字化转型的专门机构", (42,), "circular", "", dt.date(2025, 8, 7)),
    ("四国政府数字化转型战略的主要启示", (44,), "circular", "", dt.date(2025, 8, 8)),
    ("浙江：打造“整体智治”的现代政府", (49,), "opinion", "浙政办发〔2026〕120号", dt.date(2026, 6, 18)),
    ("上海：实施“一网通办”，建设数字政府", (51,), "report", "浙政办发〔2025〕12号", dt.date(2025, 4, 1)),
    ("广东：整体政府理念下的“数字政府”", (53,), "letter", "浙政发〔2026〕12号", dt.date(2026, 2, 1)),
    ("江苏：推进“一件事、一类事、一项事”改革", (55,), "letter", "", dt.date(2026, 2, 2)),
    ("辽宁：强势推进政务服务“一网通办”", (57,), "letter", "", dt.date(2026, 2, 3)),
    ("构建信息网络支撑体系", (61, 62, 63), "notice", "", dt.date(2026, 3, 1)),
    ("构建信息资源共享体系", (65,), "notice", "", dt.date(2026, 3, 2)),
    ("构建业务协同联动体系", (67,), "notice", "", dt.date(2026, 3, 3)),
    ("构建信息应用推进体系", (69, 74), "notice", "", dt.date(2026, 3, 4)),
    ("构建政府决策数据服务体系", (76,), "notice", "", dt.date(2026, 3, 5)),
    ("构建政府管理服务体系", (78,), "notice", "", dt.date(2026, 3, 6)),
    ("构建网络安全保障体系", (80, 81), "notice", "", dt.date(2026, 3, 7)),
]

SYNTHETIC_RECORDS: list[tuple[str, str, str, str, dt.date]] = [
    (
        "关于印发2026年数字政府建设工作要点的通知",
        "现将《2026年数字政府建设工作要点》印发给你们，请结合实际认真贯彻落实。要推进AI辅助审批，依托浙政钉推动掌上办公。",
        "notice", "浙政办发〔2026〕3号", dt.date(2026, 1, 20),
    ),
    (
        "２０２６年全省政务数据共享工作安排",
        "２０２６年重点推进公共数据共享，试点ＡＩ智能客服，深化最多跑一次改革。",
        "notice", "浙数局发〔2026〕7号", dt.date(2026, 2, 10),
    ),
    (
        "数字政府建设项目编号说明",
        "项目编号GZ2026-7和GZ2025-12仅用于内部统计，与年度计划无关。",
        "letter", "", dt.date(2025, 12, 30),
    ),
]


def article_lines() -> list[str]:
    return REFERENCE.read_text(encoding="utf-8").splitlines()


def records() -> list[dict]:
    """Title, body and metadata of every corpus record, in a fixed order."""
    lines = article_lines()
    out = []
    for title, numbers, doc_type, doc_number, date in ARTICLE_RECORDS:
        body = "\n".join(lines[n - 1].strip() for n in numbers).replace("[bookmark: _GoBack]", "")
        out.append({"title": title, "body": body, "doc_type": doc_type, "doc_number": doc_number, "record_date": date})
    for title, body, doc_type, doc_number, date in SYNTHETIC_RECORDS:
        out.append({"title": title, "body": body, "doc_type": doc_type, "doc_number": doc_number, "record_date": date})
    return out
