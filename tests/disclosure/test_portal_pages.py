"""The public portal's pages: fast and cacheable (ETag, Last-Modified, public max-age,
304 on revalidation), sessionless, CSP-clean, searchable with filters and highlights,
and still answering (from the database, with a banner) when Elasticsearch is down."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from disclosure.models import Publication
from officehub.directory.models import Department
from tests.disclosure.conftest import act, distributed, drain

pytestmark = [pytest.mark.django_db, pytest.mark.elasticsearch]


@pytest.fixture
def published(personas, portal_index):
    first = distributed(personas, title="关于推进政务数据共享开放的实施意见", doc_type="opinion",
                        body="一、总体要求\n依托一体化平台推进公共数据共享，打破数据孤岛。")
    second = distributed(personas, title="关于做好2026年政务公开工作的通知",
                         body="各地要深化政务公开，推进“一网通办”。")
    assert drain() == 2
    return first, second


def test_pages_carry_validators_and_public_short_lived_caching(published):
    client = Client()
    for url in ("/gk/", "/gk/?q=数据共享", f"/gk/documents/{published[0].pk}/", "/api/gk/documents/?q=政务公开",
                f"/api/gk/documents/{published[0].pk}/", f"/gk/documents/{published[0].pk}/file/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["ETag"].startswith('W/"'), url
        assert "Last-Modified" in response, url
        cache = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"public", "max-age=60"} <= cache, url
        # Nothing personal: no cookie set, nothing varies by cookie.
        assert "Set-Cookie" not in response and "sessionid" not in response.cookies, url
        assert "Cookie" not in response.get("Vary", ""), url


def test_a_revalidation_is_answered_304_until_something_changes(published, personas):
    client = Client()
    url = f"/gk/documents/{published[0].pk}/"
    first = client.get(url)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag and "public" in not_modified["Cache-Control"]
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    listing = client.get("/gk/?q=数据共享")
    assert client.get("/gk/?q=数据共享", HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 304
    # Another query is another answer.
    assert client.get("/gk/?q=政务公开", HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 200

    # Withdrawn: the cached copy no longer validates, and the answer is the 404.
    from disclosure import services

    publication = Publication.objects.get(document=published[0])
    act(services.publication_withdraw, publication_id=publication.pk, actor=personas.reviewer, reason="撤回")
    gone = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert gone.status_code == 404 and "no-cache" in gone["Cache-Control"]
    assert client.get("/gk/?q=数据共享", HTTP_IF_NONE_MATCH=listing["ETag"]).status_code == 200


def test_public_pages_have_their_own_shell_and_no_inline_code(published):
    for url in ("/gk/", "/gk/?q=数据共享", f"/gk/documents/{published[0].pk}/", "/gk/requests/new/", "/gk/requests/track/"):
        response = Client().get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert 'lang="zh-Hans"' in html and "政府信息公开" in html
        assert "mainnav" not in html and "logout" not in html and "工作台" not in html  # no staff shell
        assert "<style" not in html and " style=" not in html, url
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url  # no inline script
        assert not re.search(r" on[a-z]+=", html), url


def test_search_finds_with_highlights_and_narrows_by_issuer_year_and_doc_type(published, personas):
    client = Client()
    html = client.get("/gk/", {"q": "数据孤岛"}).content.decode()
    assert f'data-document-id="{published[0].pk}"' in html and f'data-document-id="{published[1].pk}"' not in html
    assert "<em>数据孤岛</em>" in html
    issuer = Department.objects.get(name="浙江省人民政府办公厅")
    api = client.get("/api/gk/documents/", {"q": "政务", "issuer": issuer.pk, "doc_type": "notice"}).json()
    assert [hit["document_id"] for hit in api["hits"]] == [published[1].pk]
    assert api["hits"][0]["issuer"] == "浙江省人民政府办公厅"
    year = published[1].issued_on.year
    assert client.get("/api/gk/documents/", {"year": year}).json()["total"] == 2
    assert client.get("/api/gk/documents/", {"year": year - 1}).json()["total"] == 0
    other = Department.objects.get(name="浙江省财政厅")
    assert client.get("/api/gk/documents/", {"issuer": other.pk}).json()["total"] == 0
    # Facets with counts, and the links that apply them.
    facets = client.get("/api/gk/documents/").json()["facets"]
    assert {"value": "opinion", "label": "意见", "count": 1} in facets["doc_type"]
    assert {"value": str(issuer.pk), "label": "浙江省人民政府办公厅", "count": 2} in facets["issuer_id"]
    page = client.get("/gk/").content.decode()
    assert f"?issuer={issuer.pk}" in page and "?doc_type=opinion" in page and f"?year={year}" in page
    # A 发文字号 typed with other brackets finds its document.
    number = published[0].doc_number.replace("〔", "[").replace("〕", "]")
    assert [hit["document_id"] for hit in client.get("/api/gk/documents/", {"q": number}).json()["hits"]][:1] == [
        published[0].pk
    ]


def test_highlights_escape_the_text(personas, portal_index):
    document = distributed(personas, title="关于<script>alert(1)</script>数据安全的通知", body="数据安全<b>重要</b>")
    drain()
    html = Client().get("/gk/", {"q": "数据安全"}).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert f'data-document-id="{document.pk}"' in html


@pytest.mark.parametrize("query", ["?page=0", "?page=abc", "?year=x", "?doc_type=secret", "?page_size=500", "?issuer=-1",
                                   "?page=600"])
def test_bad_parameters_are_coded_400s(published, query):
    page = Client().get(f"/gk/{query}")
    assert page.status_code == 400 and 'id="gk-error"' in page.content.decode()
    api = Client().get(f"/api/gk/documents/{query}")
    assert api.status_code == 400 and api.json()["code"] == "disclosure.invalid"


def test_with_elasticsearch_down_the_database_answers_with_a_banner(published, settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"  # nothing listens there
    response = Client().get("/gk/", {"q": "数据孤岛"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="gk-degraded"' in html and "全文检索服务暂时不可用" in html
    assert f'data-document-id="{published[0].pk}"' in html and f'data-document-id="{published[1].pk}"' not in html
    assert "<em>数据孤岛</em>" in html
    assert "no-cache" in response["Cache-Control"]  # not to be kept once search is back
    api = Client().get("/api/gk/documents/", {"q": "政务公开", "doc_type": "notice"}).json()
    assert api["degraded"] is True and [hit["document_id"] for hit in api["hits"]] == [published[1].pk]


def test_portal_search_is_rate_limited_per_address(published, settings):
    settings.PORTAL_SEARCH_RATE = "3/min"
    client = Client()
    codes = [client.get("/gk/", {"q": f"政务{n}"}).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/gk/documents/", {"q": "政务"})
    assert limited.status_code == 429 and limited.json()["code"] == "throttled" and "Retry-After" in limited
    # Another address has its own bucket; browsing without a query is not counted.
    assert Client(REMOTE_ADDR="10.1.2.3").get("/gk/", {"q": "政务"}).status_code == 200
    assert client.get("/gk/").status_code == 200


def test_search_answers_are_shared_until_the_portal_changes(published, personas, settings):
    client = Client()
    first = client.get("/api/gk/documents/", {"q": "政务"}).json()
    assert {hit["document_id"] for hit in first["hits"]} == {published[0].pk, published[1].pk}
    # Elasticsearch gone: the same question is answered from the shared cache, as before.
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    again = Client(REMOTE_ADDR="10.9.9.9").get("/api/gk/documents/", {"q": "政务"}).json()
    assert again == first and again["degraded"] is False
    # A withdrawal changes the portal: no cached answer is reachable any more (here the
    # database fallback answers, without the withdrawn document).
    from disclosure import services

    publication = Publication.objects.get(document=published[0])
    act(services.publication_withdraw, publication_id=publication.pk, actor=personas.reviewer, reason="撤回")
    after = client.get("/api/gk/documents/", {"q": "政务"}).json()
    assert after["degraded"] is True and [hit["document_id"] for hit in after["hits"]] == [published[1].pk]
    settings.PORTAL_RESULT_CACHE_SECONDS = 0  # off: every search asks the index
    assert client.get("/api/gk/documents/", {"q": "政务"}).json()["degraded"] is True
