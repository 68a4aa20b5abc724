"""Numbers past what the database holds (ids over bigint in URLs and bodies, huge
page numbers) are a 4xx like any other bad input, never a 500."""

import pytest

HUGE = "99999999999999999999"  # > 2**63


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", f"/api/rooms/{HUGE}/messages", None),
        ("post", f"/api/rooms/{HUGE}/messages", {"body": "hi"}),
        ("post", f"/api/rooms/{HUGE}/members", {"user_id": 1}),
        ("get", f"/api/rooms/{HUGE}/presence", None),
        ("post", f"/api/notifications/{HUGE}/read", None),
        ("get", f"/api/jobs/{HUGE}", None),
        ("post", f"/api/jobs/{HUGE}/retry", None),
        ("post", f"/api/jobs/{HUGE}/cancel", None),
        ("get", f"/api/jobs?page={HUGE}", None),
        ("get", f"/api/files?page={HUGE}&page_size={HUGE}", None),
        ("get", f"/api/notifications?page={HUGE}", None),
    ],
)
def test_huge_numbers_on_a_tenant_host_are_a_4xx(api, acme, method, path, body):
    response = getattr(api, method)(path, host="acme.localhost", token=acme.owner_token, json=body)

    assert 400 <= response.status_code < 500, response.content
    assert "error" in response.json()


def test_a_huge_user_id_added_to_a_room_is_a_4xx(api, acme):
    room = api.post("/api/rooms", host="acme.localhost", token=acme.owner_token, json={"name": "r"}).json()

    response = api.post(
        f"/api/rooms/{room['id']}/members", host="acme.localhost", token=acme.owner_token, json={"user_id": int(HUGE)}
    )

    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_huge_member_id_on_the_platform_api_is_a_4xx(api, acme, method):
    response = getattr(api, method)(
        f"/api/tenants/{acme.pk}/members/{HUGE}",
        token=acme.owner_token,
        json={"role": "admin"} if method == "patch" else None,
    )

    assert response.status_code == 404, response.content


@pytest.mark.parametrize("position", ["x", "\x00\x00", "-1", "1.5", "١٢"])
def test_a_message_cursor_whose_position_is_not_an_id_is_invalid_not_a_500(api, acme, position):
    """DRF's CursorPagination checks a cursor's offset, not its position, which went into
    `id < position` as is: a 500 (fuzzing, hand-made cursors)."""
    import base64
    from urllib.parse import quote, urlencode

    room = api.post("/api/rooms", host="acme.localhost", token=acme.owner_token, json={"name": "r"}).json()
    cursor = quote(base64.b64encode(urlencode({"r": "0", "p": position}).encode()).decode())
    response = api.get(
        f"/api/rooms/{room['id']}/messages?cursor={cursor}", host="acme.localhost", token=acme.owner_token
    )
    assert response.status_code == 404, response.content[:300]
    assert response.json()["error"]["code"] == "not_found"
    ok = quote(base64.b64encode(b"p=5").decode())
    assert (
        api.get(
            f"/api/rooms/{room['id']}/messages?cursor={ok}", host="acme.localhost", token=acme.owner_token
        ).status_code
        == 200
    )
