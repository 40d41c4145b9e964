"""Rebuild the archive index from the database into a new version and swap the alias.

Zero downtime: searches keep using the old index (through the alias) while the new one
fills; one ``_aliases`` call removes the alias from the old index and adds it to the new
one atomically. Writes that the outbox drains meanwhile land in the old index; after the
swap they are replayed into the new one (outbox ids above the starting mark), so none is
lost. Every rebuilt document carries the starting mark as its external version, which is
no older than any write handed out before, and older than any handed out after.
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from search import es
from search.indexer import build_docs, bulk_write
from search.models import ArchiveRecord, IndexOutbox
from search.services import reindex_base_version


def search_reindex(*, batch_size: int = 500, progress: bool = True, keep_old: bool = False) -> dict[str, Any]:
    client = es.client(timeout=120.0)
    versions = es.existing_versions(client)
    new_index = es.index_name((versions[-1] + 1) if versions else 1)
    body = es.index_body()
    # Bulk loading is faster without refreshes; the real interval is restored below.
    body["settings"]["refresh_interval"] = "-1"
    client.indices.create(index=new_index, **body)
    mark = reindex_base_version()
    total = ArchiveRecord.objects.count()
    written = 0
    failed: dict[int, str] = {}
    bar = tqdm(total=total, desc=f"重建索引 {new_index}", unit="件", file=sys.stderr, disable=not progress)
    last_pk = 0
    try:
        while True:
            # Keyset pages: prefetch_related works per page, and memory stays flat.
            page = list(ArchiveRecord.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not page:
                break
            last_pk = page[-1]
            result = bulk_write(client, new_index, build_docs(page, mark))
            written += len(result["ok"])
            failed.update(result["failed"])
            bar.update(len(page))
    finally:
        bar.close()
    if failed:
        client.indices.delete(index=new_index, ignore_unavailable=True)
        raise RuntimeError(f"{len(failed)} records failed to index; alias left unchanged: {next(iter(failed.values()))}")
    client.indices.put_settings(index=new_index, settings={"index": {"refresh_interval": "1s"}})
    client.indices.refresh(index=new_index)
    old = list(client.indices.get_alias(name=es.alias_name()).keys()) if client.indices.exists_alias(name=es.alias_name()) else []
    actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": es.alias_name()}} for name in old]
    actions.append({"add": {"index": new_index, "alias": es.alias_name()}})
    client.indices.update_aliases(actions=actions)
    # Replay writes handed out after the mark (drained into the old index meanwhile).
    late = IndexOutbox.objects.filter(pk__gt=mark).values_list("record_id", "id")
    latest: dict[int, int] = {}
    for record_id, version in late:
        latest[record_id] = max(latest.get(record_id, 0), version)
    if latest:
        bulk_write(client, new_index, build_docs(latest.keys(), latest), refresh=True)
    if not keep_old:
        for name in old:
            client.indices.delete(index=name, ignore_unavailable=True)
    return {"index": new_index, "records": written, "previous": old, "replayed": len(latest)}
