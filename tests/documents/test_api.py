"""The documents REST API: CRUD, access (private docs, viewers, managers), tenant isolation, content."""

from django_tenants.utils import tenant_context
from pycrdt import Doc, Map, Text

from documents.models import Document, DocumentUpdate
from documents.services import update_append
from tests.helpers import error_code

ACME = "acme.localhost"


def test_create_list_read_change_and_delete(api, people):
    token = people["member_token"]
    created = api.post("/api/docs", host=ACME, token=token, json={"title": "plan"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["title"], body["is_private"], body["size"], body["last_seq"]) == ("plan", False, 0, 0)
    listed = api.get("/api/docs", host=ACME, token=token).json()
    assert {d["title"] for d in listed["results"]} == {"plan", "notes", "secret"}  # member of `secret`
    url = f"/api/docs/{body['id']}"
    assert api.get(url, host=ACME, token=token).json()["title"] == "plan"
    changed = api.patch(url, host=ACME, token=token, json={"title": "the plan", "is_private": True})
    assert (changed.status_code, changed.json()["title"], changed.json()["is_private"]) == (200, "the plan", True)
    assert api.delete(url, host=ACME, token=token).status_code == 204
    assert error_code(api.get(url, host=ACME, token=token)) == "document_not_found"


def test_a_private_document_is_not_found_by_a_tenant_member_outside_it(api, people):
    acme = people["acme"]
    from tests.factories import member_make, token_make

    outsider = token_make(member_make(acme, email="outsider@acme.test"))
    url = f"/api/docs/{people['secret'].pk}"
    for method in ("get", "patch", "delete"):
        response = getattr(api, method)(
            url, host=ACME, token=outsider, **({"json": {"title": "x"}} if method == "patch" else {})
        )
        assert (response.status_code, error_code(response)) == (404, "document_not_found"), method
    titles = {d["title"] for d in api.get("/api/docs", host=ACME, token=outsider).json()["results"]}
    assert titles == {"notes"}


def test_a_viewer_reads_but_may_not_change_and_only_the_creator_or_a_manager_deletes(api, people):
    url = f"/api/docs/{people['secret'].pk}"
    assert api.get(url, host=ACME, token=people["other_token"]).status_code == 200
    refused = api.patch(url, host=ACME, token=people["other_token"], json={"title": "mine"})
    assert (refused.status_code, error_code(refused)) == (403, "document_read_only")
    not_creator = api.delete(url, host=ACME, token=people["member_token"])  # an editor, not its creator
    assert (not_creator.status_code, error_code(not_creator)) == (403, "document_forbidden")
    notes = f"/api/docs/{people['notes'].pk}"
    member_made = api.post("/api/docs", host=ACME, token=people["member_token"], json={"title": "m"}).json()
    assert api.delete(f"/api/docs/{member_made['id']}", host=ACME, token=people["acme"].owner_token).status_code == 204
    with tenant_context(people["acme"]):
        assert Document.objects.filter(title="secret").exists()
    assert api.get(notes, host=ACME, token=people["other_token"]).status_code == 200


def test_another_tenant_cannot_see_or_touch_the_document(api, people):
    globex = people["globex"]
    url = f"/api/docs/{people['notes'].pk}"
    for host in ("globex.localhost", ACME):  # on its own host, and on acme's (not a member there)
        response = api.get(url, host=host, token=globex.owner_token)
        assert response.status_code in (403, 404)
        assert error_code(response) in ("document_not_found", "not_a_member")
    titles = [
        d["title"] for d in api.get("/api/docs", host="globex.localhost", token=globex.owner_token).json()["results"]
    ]
    assert titles == ["globex notes"]


def test_members_are_added_by_the_creator_with_a_role(api, people):
    url = f"/api/docs/{people['secret'].pk}/members"
    owner = people["acme"].owner_token
    assert (
        api.post(url, host=ACME, token=owner, json={"user_id": people["other"].pk, "role": "editor"}).status_code == 201
    )
    refused = api.post(url, host=ACME, token=people["member_token"], json={"user_id": people["other"].pk})
    assert (refused.status_code, error_code(refused)) == (403, "document_forbidden")
    stranger = api.post(url, host=ACME, token=owner, json={"user_id": people["globex"].owner.pk})
    assert (stranger.status_code, error_code(stranger)) == (404, "member_not_found")
    changed = api.patch(f"/api/docs/{people['secret'].pk}", host=ACME, token=people["other_token"], json={"title": "t"})
    assert changed.status_code == 200  # an editor now


def test_content_is_the_document_as_json_with_its_text(api, people):
    writer = Doc()
    writer.get("content", type=Text).insert(0, "Hello")
    writer.get("meta", type=Map)["owner"] = "acme"
    first = writer.get_update()
    state = writer.get_state()
    writer.get("content", type=Text).insert(5, ", world")
    second = writer.get_update(state)
    with tenant_context(people["acme"]):
        assert update_append(tenant=people["acme"], document_id=people["notes"].pk, data=first, author_id=None) == 1
        assert update_append(tenant=people["acme"], document_id=people["notes"].pk, data=second, author_id=None) == 2
        assert list(DocumentUpdate.objects.values_list("seq", flat=True)) == [1, 2]
    response = api.get(f"/api/docs/{people['notes'].pk}/content", host=ACME, token=people["member_token"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["seq"], body["text"], body["content"]) == (
        2,
        "Hello, world",
        {"content": "Hello, world", "meta": {"owner": "acme"}},
    )
    detail = api.get(f"/api/docs/{people['notes'].pk}", host=ACME, token=people["member_token"]).json()
    assert (detail["last_seq"], detail["size"]) == (2, len(first) + len(second))


def test_the_size_limit_refuses_an_update_and_keeps_the_log(people, settings):
    from documents.errors import DocumentTooLarge

    settings.DOCUMENTS = {**settings.DOCUMENTS, "MAX_DOCUMENT_BYTES": 100}
    with tenant_context(people["acme"]):
        update_append(tenant=people["acme"], document_id=people["notes"].pk, data=b"\x00" * 60, author_id=None)
        try:
            update_append(tenant=people["acme"], document_id=people["notes"].pk, data=b"\x00" * 60, author_id=None)
        except DocumentTooLarge:
            pass
        else:
            raise AssertionError("not refused")
        document = Document.objects.get(pk=people["notes"].pk)
        assert (document.size, document.last_seq, DocumentUpdate.objects.count()) == (60, 1, 1)
