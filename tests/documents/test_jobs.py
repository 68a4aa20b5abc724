"""The throttled doc.updated event (through its job) and the compaction of the update log."""

from types import SimpleNamespace

from django_tenants.utils import tenant_context
from pycrdt import Doc, Text

from common.domain_events import captured
from documents.compaction import document_compact
from documents.models import Document, DocumentSnapshot, DocumentUpdate
from documents.selectors import document_log, document_state
from documents.services import update_append
from documents.tasks import DocumentPayload, document_announce
from documents.ydoc import doc_build, doc_text
from jobs.models import Job
from webhooks.catalogue import tenant_events


def edits(count: int) -> list[bytes]:
    """`count` updates of one replica, each typing a letter and deleting every other one."""
    doc, updates = Doc(), []
    text = doc.get("content", type=Text)
    for i in range(count):
        state = doc.get_state()
        text.insert(len(text), "abcdefghij"[i % 10])
        if i % 2:
            del text[len(text) - 2]
        updates.append(doc.get_update(state))
    return updates


def test_updates_queue_one_announcement_per_window_and_it_emits_doc_updated(people):
    acme, notes = people["acme"], people["notes"]
    with tenant_context(acme):
        for update in edits(3):
            update_append(tenant=acme, document_id=notes.pk, data=update, author_id=None)
        jobs = list(Job.objects.filter(task="doc.announce").values_list("payload", flat=True))
        assert jobs == [{"document_id": str(notes.pk)}]  # three updates, one job
        with captured() as events:
            result = document_announce(SimpleNamespace(tenant=acme), DocumentPayload(document_id=str(notes.pk)))
    assert result == {"announced": 3}
    [event] = events
    assert (event.name, event.tenant_id, event.document_id, event.seq) == (
        "doc.updated",
        str(acme.pk),
        str(notes.pk),
        3,
    )
    assert "doc.updated" in tenant_events()  # webhooks offer it


def test_compaction_replaces_the_log_by_one_smaller_snapshot_and_the_content_stays(people, settings):
    acme, notes = people["acme"], people["notes"]
    settings.DOCUMENTS = {**settings.DOCUMENTS, "COMPACT_EVERY_UPDATES": 20}
    updates = edits(30)
    with tenant_context(acme):
        for update in updates[:20]:
            update_append(tenant=acme, document_id=notes.pk, data=update, author_id=None)
        assert Job.objects.filter(task="doc.compact").count() == 1  # queued at the 20th
        before, _ = document_state(document_id=notes.pk)
        logged = Document.objects.get(pk=notes.pk).size
        assert document_compact(document_id=notes.pk)["compacted"] == 20
        assert DocumentUpdate.objects.count() == 0
        snapshot = DocumentSnapshot.objects.get()
        assert (snapshot.up_to_seq, Document.objects.get(pk=notes.pk).size) == (20, len(snapshot.state))
        assert len(snapshot.state) < logged
        assert doc_text(doc_build(bytes(snapshot.state), ())) == doc_text(doc_build(before, ()))
        for update in updates[20:]:
            update_append(tenant=acme, document_id=notes.pk, data=update, author_id=None)
        assert document_compact(document_id=notes.pk) == {"compacted": 10, "up_to_seq": 30, "bytes": snapshot_bytes()}
        assert DocumentSnapshot.objects.count() == 1
        # a replica that had applied up to 15 gets the snapshot; one at 30 gets nothing
        assert document_log(document_id=notes.pk, after_seq=15)[:2] == (bytes(DocumentSnapshot.objects.get().state), 30)
        assert document_log(document_id=notes.pk, after_seq=30) == (None, 30, [])
    replica = Doc()
    for update in updates:
        replica.apply_update(update)
    with tenant_context(acme):
        state, seq = document_state(document_id=notes.pk)
    assert (doc_text(doc_build(state, ())), seq) == (str(replica.get("content", type=Text)), 30)


def snapshot_bytes() -> int:
    return len(DocumentSnapshot.objects.order_by("-up_to_seq").first().state)
