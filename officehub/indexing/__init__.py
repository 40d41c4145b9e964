"""Index changes: the core's door for "this object changed, (re)index it".

Feature apps that the search app depends on (documents, messaging) must not import
search (DESIGN §1). They call ``officehub.indexing.services.mark_for_index(kind,
object_id)`` in the transaction that changes the object; it inserts an ``IndexChange``
row that commits or rolls back with the change. The search app drains those rows
(``search.services.change_drain``), reads the objects through its own selectors and
writes Elasticsearch. The core knows the kinds only as strings.
"""
