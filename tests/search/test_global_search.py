"""全局搜索 (GET /api/search/): people, groups, messages, 公文 and archives in one box, each
tab by the rule of its own page — hits, counts and highlights alike — against the real
PostgreSQL and Elasticsearch. Messages and documents reach the index through the core's
outbox (officehub.indexing), drained here by ``change_drain`` as the worker would."""

from __future__ import annotations

import ast
import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from documents.services import document_create_draft, document_submit
from messaging.chat.services import (
    conversation_group_create,
    conversation_member_remove,
    conversation_members_add,
    conversation_set_history_visible,
    message_recall,
    message_send,
)
from officehub.indexing.models import IndexChange
from search import es
from search.global_search import message_scope
from search.live_query import message_search_body
from search.query import SearchParams
from search.services import change_drain

SEARCH = "/api/search/"
ROOT = Path(__file__).resolve().parents[2]
_client_ids = iter(range(1, 10**6))


def drain() -> int:
    """What the worker's job does, then make it searchable at once."""
    return change_drain(refresh=True)


def send(user: Any, conversation: Any, body: str) -> Any:
    with transaction.atomic():
        return message_send(actor=user, conversation_id=conversation.pk, client_id=f"gs-{next(_client_ids)}", body=body).message


def group(owner: Any, title: str, members: list[Any]) -> Any:
    with transaction.atomic():
        return conversation_group_create(actor=owner, title=title, member_ids=[m.pk for m in members])


def draft(user: Any, title: str, body: str, recipient: Any) -> Any:
    with transaction.atomic():
        return document_create_draft(
            actor=user, doc_type="notice", title=title, body=body, primary_recipient_ids=[recipient.pk]
        )


def search(api_client: Any, user: Any, q: str, tab: str = "messages", **params: Any) -> dict[str, Any]:
    api_client.force_authenticate(user)
    response = api_client.get(SEARCH, {"q": q, "tab": tab, **params})
    assert response.status_code == 200, response.content
    return response.json()


def ids(result: dict[str, Any]) -> list[int]:
    return [hit["id"] for hit in result["results"]]


@pytest.fixture
def two_organisations(personas: Any, live_index: Any) -> dict[str, Any]:
    """The same words in each organisation: a group chat and a draft of the 办公厅 (王芳)
    and of the 大数据局 (钱磊). Each side's staff member of the other organisation is in
    neither."""
    p = personas
    office_org = p.drafter.department.organisation()
    bureau_org = p.outsider.department.organisation()
    office_group = group(p.drafter, "秘书处防汛工作群", [p.drafter2, p.head])
    bureau_group = group(p.outsider, "大数据局防汛工作群", [p.other_org_archivist])
    scene = {
        "office_group": office_group,
        "bureau_group": bureau_group,
        "office_message": send(p.drafter, office_group, "请各位确认本周防汛值班安排，周五前回复。"),
        "office_other": send(p.drafter2, office_group, "收到，今晚我值班。"),
        "bureau_message": send(p.outsider, bureau_group, "大数据局防汛值班安排已经发布，请查收。"),
        "office_document": draft(p.drafter, "关于做好防汛值班安排的通知", "各处室要落实防汛值班安排。", bureau_org),
        "bureau_document": draft(p.outsider, "大数据局关于防汛值班安排的通知", "局属各单位落实防汛值班安排。", office_org),
    }
    drain()
    assert IndexChange.objects.count() == 0  # every change taken (and its row deleted)
    return scene


# ---------------------------------------------------------------------------- organisations


def test_two_organisations_search_the_same_words_and_each_sees_only_its_own_counts_included(
    api_client, personas, two_organisations
):
    scene = two_organisations
    mine = search(api_client, personas.drafter, "防汛值班安排")
    assert ids(mine) == [scene["office_message"].pk]
    assert mine["counts"]["messages"] == 1 and mine["total"] == 1
    assert mine["counts"]["documents"] == 1
    assert "<em>" in mine["results"][0]["snippet_html"]
    assert mine["results"][0]["conversation_title"] == "秘书处防汛工作群"
    assert not mine["degraded"]

    theirs = search(api_client, personas.outsider, "防汛值班安排")
    assert ids(theirs) == [scene["bureau_message"].pk]
    assert theirs["counts"]["messages"] == 1 and theirs["counts"]["documents"] == 1

    my_documents = search(api_client, personas.drafter, "防汛值班安排", tab="documents")
    assert ids(my_documents) == [scene["office_document"].pk]
    assert "<em>" in my_documents["results"][0]["title_html"]
    their_documents = search(api_client, personas.outsider, "防汛值班安排", tab="documents")
    assert ids(their_documents) == [scene["bureau_document"].pk]
    assert their_documents["results"][0]["url"] == f"/documents/{scene['bureau_document'].pk}/"


def test_a_non_member_never_sees_a_message_not_in_hits_counts_or_highlights(api_client, personas, two_organisations):
    # 何丽 works in the same organisation as the 秘书处 group but is not a member.
    result = search(api_client, personas.staff, "防汛值班安排")
    assert result["counts"]["messages"] == 0 and result["results"] == []
    # …and the index itself answers nothing to her scope: no total, no highlight to leak.
    body = message_search_body(message_scope(personas.staff), SearchParams(q="防汛值班安排"), hits=True)
    raw = es.client().search(index=es.alias_name(es.MESSAGES), body=body)
    assert raw["hits"]["total"]["value"] == 0 and raw["hits"]["hits"] == []
    # A member sees it; one who leaves no longer does (membership is read at every search).
    assert search(api_client, personas.head, "防汛值班安排")["counts"]["messages"] == 1
    with transaction.atomic():
        conversation_member_remove(
            actor=personas.head, conversation_id=two_organisations["office_group"].pk, user_id=personas.head.pk
        )
    assert search(api_client, personas.head, "防汛值班安排")["counts"]["messages"] == 0


def test_the_message_result_links_to_the_conversation_at_that_message(api_client, personas, two_organisations):
    scene = two_organisations
    hit = search(api_client, personas.drafter2, "防汛")["results"][0]
    message = scene["office_message"]
    assert hit["url"] == f"/messages/?c={message.conversation_id}&around={message.seq}"
    around = api_client.get(f"/api/messaging/conversations/{message.conversation_id}/messages/around/{message.seq}/")
    assert around.status_code == 200
    body = around.json()
    assert [m["seq"] for m in body["messages"]] == [1, 2] and body["seq"] == message.seq
    assert body["next_before"] is None and body["next_after"] is None
    # An outsider gets the same 404 as for a missing conversation.
    api_client.force_authenticate(personas.outsider)
    refused = api_client.get(f"/api/messaging/conversations/{message.conversation_id}/messages/around/{message.seq}/")
    assert refused.status_code == 404


def test_people_and_groups_tabs_follow_the_directory_and_membership(api_client, personas, two_organisations):
    people = search(api_client, personas.outsider, personas.drafter.full_name, tab="people")
    assert personas.drafter.pk in ids(people)  # the 通讯录 is open to every signed-in user
    assert people["results"][0]["url"].startswith("/messages/?peer=")
    groups = search(api_client, personas.drafter, "防汛工作群", tab="groups")
    assert ids(groups) == [two_organisations["office_group"].pk] and groups["counts"]["groups"] == 1
    assert groups["results"][0]["member_count"] == 3


# ---------------------------------------------------------------------------- history, recall, state


def test_a_group_hiding_its_history_shows_new_members_only_what_came_after_they_joined(api_client, personas, live_index):
    p = personas
    team = group(p.drafter, "督查专班", [p.head])
    before = send(p.drafter, team, "专班督查清单初稿")
    with transaction.atomic():
        conversation_set_history_visible(actor=p.drafter, conversation_id=team.pk, visible=False)
        conversation_members_add(actor=p.drafter, conversation_id=team.pk, user_ids=[p.staff.pk])
    after = send(p.drafter, team, "专班督查清单定稿")
    drain()

    newcomer = search(api_client, p.staff, "督查清单")
    assert ids(newcomer) == [after.pk] and newcomer["counts"]["messages"] == 1
    founder = search(api_client, p.head, "督查清单")
    assert sorted(ids(founder)) == sorted([before.pk, after.pk])
    # The same floor in the chat itself: history, the around page, the message.
    api_client.force_authenticate(p.staff)
    history = api_client.get(f"/api/messaging/conversations/{team.pk}/messages/").json()
    assert [m["seq"] for m in history["messages"]] == [after.seq] and history["next_before"] is None
    assert api_client.get(f"/api/messaging/conversations/{team.pk}/messages/around/{before.seq}/").status_code == 404
    assert api_client.get(f"/api/messaging/messages/{before.pk}/receipts/").status_code == 404

    # Only the owner or an admin may change it; turned back on, the history is visible.
    setting = f"/api/messaging/conversations/{team.pk}/history-visibility/"
    api_client.force_authenticate(p.staff)
    refused = api_client.put(setting, {"history_visible": True}, format="json")
    assert refused.status_code == 403
    api_client.force_authenticate(p.drafter)
    allowed = api_client.put(setting, {"history_visible": True}, format="json")
    assert allowed.status_code == 200
    assert search(api_client, p.staff, "督查清单")["counts"]["messages"] == 2


def test_a_recalled_message_disappears_from_results_and_counts(api_client, personas, live_index):
    p = personas
    team = group(p.drafter, "值班协调群", [p.head])
    kept = send(p.drafter, team, "明日值班表请核对")
    wrong = send(p.drafter, team, "值班表发错了请忽略")
    drain()
    assert search(api_client, p.head, "值班表")["counts"]["messages"] == 2
    with transaction.atomic():
        message_recall(actor=p.drafter, message_id=wrong.pk)
    # Before the drain: the database re-check already hides it.
    assert ids(search(api_client, p.head, "值班表")) == [kept.pk]
    drain()
    result = search(api_client, p.head, "值班表")
    assert ids(result) == [kept.pk] and result["counts"]["messages"] == 1
    assert not es.client().exists(index=es.alias_name(es.MESSAGES), id=str(wrong.pk))


def test_a_document_entry_follows_its_state_from_the_drafter_to_the_reviewer(api_client, personas, live_index):
    p = personas
    recipient = p.outsider.department.organisation()
    document = draft(p.drafter, "关于开展汛期安全检查的通知", "请各单位开展汛期安全检查。", recipient)
    drain()
    # A draft: its drafter (and drafting division) only; the 核稿 reviewer does not see it yet.
    assert ids(search(api_client, p.drafter, "汛期安全检查", tab="documents")) == [document.pk]
    assert search(api_client, p.reviewer, "汛期安全检查")["counts"]["documents"] == 0
    assert search(api_client, p.staff, "汛期安全检查")["counts"]["documents"] == 0
    with transaction.atomic():
        document_submit(document_id=document.pk, actor=p.drafter)
    drain()
    seen = search(api_client, p.reviewer, "汛期安全检查", tab="documents")
    assert ids(seen) == [document.pk] and seen["counts"]["documents"] == 1
    assert seen["results"][0]["status_label"] == "核稿"
    assert search(api_client, p.staff, "汛期安全检查")["counts"]["documents"] == 0
    assert search(api_client, p.outsider, "汛期安全检查")["counts"]["documents"] == 0


# ---------------------------------------------------------------------------- outage


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns: nothing listens


def test_an_elasticsearch_outage_falls_back_to_the_database_and_then_catches_up(
    api_client, client, personas, live_index, settings
):
    p = personas
    team = group(p.drafter, "应急联络群", [p.head])
    indexed = send(p.drafter, team, "应急物资清单已更新")
    drain()
    real_url = settings.ELASTICSEARCH_URL
    # The shared Elasticsearch keeps running: this process is pointed at a closed port.
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{_closed_port()}"
    during = send(p.drafter, team, "应急物资清单第二版")
    assert change_drain() == 0  # nothing taken: the row stays, with its error and a backoff
    row = IndexChange.objects.get(object_id=during.pk, kind="message")
    assert row.attempts == 1 and row.last_error and row.available_at > timezone.now()

    fallback = search(api_client, p.head, "应急物资清单")
    assert fallback["degraded"] is True and "数据库" in fallback["notice"]
    assert sorted(ids(fallback)) == sorted([indexed.pk, during.pk])
    assert fallback["counts"]["messages"] == 2
    assert "<em>应急物资清单</em>" in fallback["results"][0]["snippet_html"]
    # Permissions hold in the fallback too.
    assert search(api_client, p.staff, "应急物资清单")["counts"]["messages"] == 0
    client.force_login(p.head)
    page = client.get("/search/", {"q": "应急物资清单", "tab": "messages"})
    assert page.status_code == 200 and 'id="degraded-notice"' in page.content.decode()

    settings.ELASTICSEARCH_URL = real_url
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert drain() == 1
    assert not IndexChange.objects.exists()
    caught_up = search(api_client, p.head, "应急物资清单")
    assert caught_up["degraded"] is False and sorted(ids(caught_up)) == sorted([indexed.pk, during.pk])


# ---------------------------------------------------------------------------- input and pages


def test_bad_queries_are_refused_with_a_code(api_client, personas):
    api_client.force_authenticate(personas.drafter)
    for params in ({"q": ""}, {"q": "值班", "tab": "everything"}, {"q": "值班", "page": 0}, {"q": "值" * 101}):
        response = api_client.get(SEARCH, params)
        assert response.status_code == 400, params
        assert set(response.json()) == {"code", "message", "extra"}


def test_the_page_shows_tabs_with_counts_and_opens_the_first_tab_with_results(client, personas, two_organisations):
    client.force_login(personas.drafter)
    page = client.get("/search/", {"q": "防汛工作群"})
    html = page.content.decode()
    assert page.status_code == 200
    for label in ("联系人", "群聊", "聊天记录", "公文", "档案"):
        assert label in html
    assert 'data-tab="groups"' in html and 'aria-current="page"' in html
    assert 'id="shell-search"' in html  # the shell's box, on every page


def test_documents_and_messaging_do_not_import_search():
    """DESIGN §1: search depends on them, never the other way round; they signal changes
    through officehub.indexing."""
    for app in ("documents", "messaging"):
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                assert not any(name == "search" or name.startswith("search.") for name in names), path
