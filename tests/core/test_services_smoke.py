"""The real services answer: Elasticsearch over HTTP, Redis as the Channels layer."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings


def test_elasticsearch_answers_with_the_pinned_major_version() -> None:
    from elasticsearch import Elasticsearch
    from elasticsearch import __versionstr__ as client_version

    assert settings.ELASTICSEARCH_URL, "OFFICEHUB_ELASTICSEARCH_URL must be set for the test suite"
    es = Elasticsearch(settings.ELASTICSEARCH_URL, request_timeout=10)
    # The integ-test build answers no GET /, so read the version from the nodes API.
    nodes = es.nodes.info(filter_path="nodes.*.version")["nodes"]
    versions = {node["version"] for node in nodes.values()}
    assert versions and all(v.split(".")[0] == client_version.split(".")[0] for v in versions)
    health = es.cluster.health(wait_for_status="yellow", timeout="30s")
    assert health["status"] in {"green", "yellow"}


def test_redis_channel_layer_round_trips_a_message() -> None:
    layer = get_channel_layer()
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "officehub.layers.OfficeHubChannelLayer"
    group = f"smoke.{uuid.uuid4().hex}"
    payload = {"type": "smoke.test", "text": "消息必达"}

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.group_send(group, payload)
        received = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return received

    assert async_to_sync(round_trip)() == payload


@pytest.mark.django_db
def test_database_is_postgresql() -> None:
    from django.db import connection

    assert connection.vendor == "postgresql"
