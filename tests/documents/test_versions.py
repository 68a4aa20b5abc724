"""Named versions: create, list, restore (a new update, not a rewind), who may, tenant isolation, and
open editors seeing a restore live."""

from asgiref.sync import sync_to_async
from django_tenants.utils import tenant_context
from pycrdt import Doc, Map, Text

from documents.models import DocumentUpdate
from documents.services import update_append
from tests.helpers import error_code
from tests.realtime.client import api as live_api

from .yclient import YClient

ACME = "acme.localhost"


class Writer:
    """A replica outside the server whose edits are appended to the log, as an editor's would be."""

    def __init__(self, tenant, document):
        self.tenant, self.document, self.doc = tenant, document, Doc()
        self.text = self.doc.get("content", type=Text)
        self.meta = self.doc.get("meta", type=Map)

    def append(self, change) -> int:
        state = self.doc.get_state()
        change(self)
        with tenant_context(self.tenant):
            return update_append(
                tenant=self.tenant, document_id=self.document.pk, data=self.doc.get_update(state), author_id=None
            )


def seqs(tenant, document) -> list[int]:
    with tenant_context(tenant):
        return list(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True))


def test_a_version_is_named_listed_and_restored_by_a_new_update(api, people):
    acme, notes, token = people["acme"], people["notes"], people["member_token"]
    writer = Writer(acme, notes)
    writer.append(lambda w: w.text.insert(0, "first draft"))
    writer.append(lambda w: w.meta.__setitem__("status", "draft"))
    url = f"/api/docs/{notes.pk}/versions"
    created = api.post(url, host=ACME, token=token, json={"name": "v1"})
    assert created.status_code == 201, created.content
    version = created.json()
    assert (version["name"], version["seq"], version["created_by"]) == ("v1", 2, people["member"].pk)
    assert set(version) == {"id", "name", "seq", "created_at", "created_by"}

    writer.append(lambda w: (w.text.insert(0, "NOT "), w.meta.__setitem__("status", "final")))
    writer.append(lambda w: w.doc.get("extra", type=Text).insert(0, "added later"))
    api.post(url, host=ACME, token=token, json={"name": "v2"})
    listed = api.get(url, host=ACME, token=token).json()
    assert [v["name"] for v in listed["results"]] == ["v2", "v1"]  # newest first, paginated
    assert listed["count"] == 2

    restored = api.post(f"{url}/{version['id']}/restore", host=ACME, token=token)
    assert restored.status_code == 200, restored.content
    body = restored.json()
    assert body["text"] == "first draft"
    assert body["content"]["meta"] == {"status": "draft"}
    assert not body["content"].get("extra")  # emptied (a root cannot be removed)
    assert body["seq"] == 5 and seqs(acme, notes) == [1, 2, 3, 4, 5]  # appended: nothing rewound
    again = api.post(f"{url}/{version['id']}/restore", host=ACME, token=token)
    assert (again.status_code, again.json()["seq"]) == (200, 5)  # the same content already: nothing stored
    # the replica that wrote the other updates takes the restore like any update and agrees
    with tenant_context(acme):
        writer.doc.apply_update(bytes(DocumentUpdate.objects.get(document=notes, seq=5).data))
    assert (str(writer.text), writer.meta.to_py()) == ("first draft", {"status": "draft"})


def test_viewers_may_list_but_not_name_or_restore_and_another_tenant_cannot_see_them(api, people):
    acme, secret = people["acme"], people["secret"]
    Writer(acme, secret).append(lambda w: w.text.insert(0, "plan"))
    url = f"/api/docs/{secret.pk}/versions"
    version = api.post(url, host=ACME, token=people["member_token"], json={"name": "v1"}).json()
    viewer = people["other_token"]
    assert [v["name"] for v in api.get(url, host=ACME, token=viewer).json()["results"]] == ["v1"]
    for response in (
        api.post(url, host=ACME, token=viewer, json={"name": "mine"}),
        api.post(f"{url}/{version['id']}/restore", host=ACME, token=viewer),
    ):
        assert (response.status_code, error_code(response)) == (403, "document_read_only")
    notes_url = f"/api/docs/{people['notes'].pk}/versions"  # a version of another document is not found here
    wrong = api.post(f"{notes_url}/{version['id']}/restore", host=ACME, token=people["member_token"])
    assert (wrong.status_code, error_code(wrong)) == (404, "version_not_found")
    nameless = api.post(url, host=ACME, token=people["member_token"], json={})
    assert nameless.status_code == 400

    # tenant B: A's documents and versions do not exist on its host (a public one, open to every acme member)
    globex, notes = people["globex"], people["notes"]
    Writer(acme, notes).append(lambda w: w.text.insert(0, "acme's"))
    url = f"/api/docs/{notes.pk}/versions"
    version = api.post(url, host=ACME, token=people["member_token"], json={"name": "v1"}).json()
    for response in (
        api.get(url, host="globex.localhost", token=globex.owner_token),
        api.post(url, host="globex.localhost", token=globex.owner_token, json={"name": "x"}),
        api.post(f"{url}/{version['id']}/restore", host="globex.localhost", token=globex.owner_token),
    ):
        assert (response.status_code, error_code(response)) == (404, "document_not_found")
    on_acme = api.post(f"{url}/{version['id']}/restore", host=ACME, token=globex.owner_token)
    assert on_acme.status_code == 403  # not a member of acme (the tenant middleware)
    assert seqs(acme, notes) == [1]


async def test_open_editors_see_a_restore_live_and_a_newcomer_gets_it_from_the_log(asgi_server, live_people):
    p = live_people
    doc_id = p["notes"].pk
    a = await YClient.connect(asgi_server, ACME, p["member_token"], doc_id)
    b = await YClient.connect(asgi_server, ACME, p["acme"].owner_token, doc_id)
    a.text.insert(0, "the good text")
    assert await b.wait_text("the good text") == "the good text"
    async with live_api(asgi_server, ACME, p["member_token"]) as client:
        version = (await client.post(f"/api/docs/{doc_id}/versions", json={"name": "good"})).json()
        b.text.insert(0, "bad: ")
        assert await a.wait_text("bad: the good text") == "bad: the good text"
        restored = await client.post(f"/api/docs/{doc_id}/versions/{version['id']}/restore")
        assert (restored.status_code, restored.json()["text"]) == (200, "the good text")
    live = [await c.wait_text("the good text", timeout=2) for c in (a, b)]  # sent, not reconciled (5 s)
    assert live == ["the good text"] * 2
    late = await YClient.connect(asgi_server, ACME, p["member_token"], doc_id)
    assert str(late.text) == "the good text"
    assert await sync_to_async(seqs)(p["acme"], p["notes"]) == [1, 2, 3]
    for client in (a, b, late):
        await client.close()


def test_the_restore_update_keeps_formatting_embeds_and_nested_types():
    from pycrdt import Array

    from documents.ydoc import doc_restore_update, doc_shown

    version = Doc()
    text = version.get("content", type=Text)
    text.insert(0, "hello 😀 world")
    text.format(0, 5, {"bold": True})
    text.insert_embed(3, {"image": "a.png"})
    version.get("meta", type=Map)["nested"] = Map({"note": Text("hi"), "list": Array([1, Map({"k": "v"})])})
    saved = version.get_update()
    current = Doc()
    current.apply_update(saved)
    current.get("content", type=Text).insert(0, "NEW ")
    del current.get("meta", type=Map)["nested"]
    current.get("other", type=Array).append(3)
    current.apply_update(doc_restore_update(current.get_update(), saved))
    assert doc_shown(current.get_update()) == doc_shown(saved)
    assert current.get("content", type=Text).diff() == text.diff()  # formats and the embed where they were
    nested = current.get("meta", type=Map)["nested"]
    assert isinstance(nested, Map) and isinstance(nested["note"], Text) and isinstance(nested["list"][1], Map)
    assert doc_restore_update(saved, saved) is None
