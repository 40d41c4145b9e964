"""拟稿 templates: a starting title and body skeleton per 文种 (条例 第八条)."""

from __future__ import annotations

from typing import TypedDict

from documents.models import DocType


class DocTemplate(TypedDict):
    title: str
    body: str
    hint: str


def _t(title: str, body: str, hint: str) -> DocTemplate:
    return {"title": title, "body": body, "hint": hint}


DOC_TEMPLATES: dict[DocType, DocTemplate] = {
    DocType.RESOLUTION: _t("关于××的决议", "××会议审议通过了……。会议认为，……。\n会议决定：……。", "会议讨论通过的重大决策事项"),
    DocType.DECISION: _t("关于××的决定", "为……，经研究，决定如下：\n一、……\n二、……", "对重要事项作出决策和部署"),
    DocType.ORDER: _t("××令", "……，现予公布，自××××年×月×日起施行。", "公布行政法规和规章、宣布施行重大强制性措施"),
    DocType.COMMUNIQUE: _t("××公报", "……", "公布重要决定或者重大事项"),
    DocType.ANNOUNCEMENT: _t(
        "关于××的公告",
        "根据……，现将有关事项公告如下：\n一、……\n特此公告。",
        "向国内外宣布重要事项或者法定事项",
    ),
    DocType.PUBLIC_NOTICE: _t(
        "关于××的通告",
        "为……，根据……，现就有关事项通告如下：\n一、……\n特此通告。",
        "在一定范围内公布应当遵守或者周知的事项",
    ),
    DocType.OPINION: _t(
        "关于××的意见",
        "为……，现提出如下意见。\n一、总体要求\n二、主要任务\n三、保障措施",
        "对重要问题提出见解和处理办法",
    ),
    DocType.NOTICE: _t(
        "关于××的通知",
        "为……，现就有关事项通知如下：\n一、……\n二、……\n三、……",
        "发布、传达要求下级机关执行和有关单位周知或者执行的事项",
    ),
    DocType.CIRCULAR: _t(
        "关于××情况的通报",
        "现将……情况通报如下：\n一、基本情况\n二、存在问题\n三、下一步要求",
        "表彰先进、批评错误、传达重要精神和告知重要情况",
    ),
    DocType.REPORT: _t(
        "关于××情况的报告",
        "现将……情况报告如下：\n一、……\n二、……\n特此报告。",
        "向上级机关汇报工作、反映情况、回复询问",
    ),
    DocType.REQUEST: _t(
        "关于××的请示",
        "……（请示缘由）。\n为此，特请示如下：……。\n妥否，请批示。",
        "向上级机关请求指示、批准；一文一事，只写一个主送机关",
    ),
    DocType.REPLY: _t("关于××的批复", "你单位《关于××的请示》收悉。经研究，现批复如下：\n一、……\n此复。", "答复下级机关请示事项"),
    DocType.MOTION: _t(
        "关于提请审议××的议案",
        "……，现提请审议。",
        "各级人民政府按照法律程序向同级人民代表大会或者其常务委员会提请审议事项",
    ),
    DocType.LETTER: _t(
        "关于××的函",
        "……，现函告如下：……。\n特此函告。",
        "不相隶属机关之间商洽工作、询问和答复问题、请求批准和答复审批事项",
    ),
    DocType.MINUTES: _t(
        "××会议纪要",
        "××年×月×日，××主持召开……会议，研究……。纪要如下：\n一、……\n二、……",
        "记载会议主要情况和议定事项；一般不加盖印章",
    ),
}
