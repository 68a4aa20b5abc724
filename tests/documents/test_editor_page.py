"""The /docs/<id> editor page: two people in headless Chromium, two browser sessions, on the real
server, type into the same document and both textareas converge; each sees the other's name. And
who gets the page at all.

Needs Debian's `chromium` and `chromium-driver` (`make test` installs them): without them the
browser test fails rather than skips (tests/browser.py).
"""

from __future__ import annotations

from contextlib import ExitStack

from django.test import Client
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium
from tests.factories import PASSWORD, member_make

ACME = "acme.localhost"


def open_editor(browser, origin: str, user, document_id) -> None:
    """Log in through the login form, land on the editor, wait for its first sync."""
    browser.get(f"{origin}/api-auth/login/?next=/docs/{document_id}")
    browser.find_element(By.NAME, "username").send_keys(user.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.current_url == f"{origin}/docs/{document_id}", "login did not land")
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "synced", "the editor never synced"
    )


def value(browser) -> str:
    return browser.find_element(By.ID, "content").get_property("value")


def converge(a, b, done, timeout: float = 10) -> str:
    """Wait until both editors show the same text and `done(text)`; return it."""
    try:
        WebDriverWait(a, timeout).until(lambda _: value(a) == value(b) and done(value(a)))
    except TimeoutException:
        raise AssertionError(f"never converged: {value(a)!r} vs {value(b)!r}") from None
    return value(a)


def people(browser) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#people li[data-client-id]")]


def names(browser) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#people li .name")]


def test_two_people_type_into_one_document_and_their_editors_converge(asgi_server, live_people, tmp_path):
    p, document_id = live_people, live_people["notes"].pk
    origin = f"http://{ACME}:{asgi_server.port}"
    with ExitStack() as stack:
        ada = stack.enter_context(chromium(tmp_path / "ada"))
        bob = stack.enter_context(chromium(tmp_path / "bob"))
        open_editor(ada, origin, p["member"], document_id)
        open_editor(bob, origin, p["other"], document_id)
        loaded = ada.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
        assert f"{origin}/static/documents/editor.js" in loaded
        assert all(url.startswith(origin) for url in loaded), loaded  # the bundle is ours: nothing from a CDN

        ada_box, bob_box = ada.find_element(By.ID, "content"), bob.find_element(By.ID, "content")
        ada_box.send_keys("alpha ")
        bob_box.send_keys("beta ")  # before or after alpha arrives: both are kept
        ada_box.send_keys("gamma")
        both = converge(ada, bob, lambda text: all(w in text for w in ("alpha", "beta", "gamma")))
        assert both.index("alpha") < both.index("gamma")  # each writer's own order survives the merge

        # A remote edit before the caret moves it: ada's caret after the first character, bob
        # inserts two before it, ada types: her keystroke lands where her caret was, not at the end.
        ada_box.send_keys(Keys.HOME, Keys.RIGHT)
        bob_box.send_keys(Keys.HOME, "<<")
        WebDriverWait(ada, 10).until(lambda _: value(ada).startswith("<<"), "bob's edit never reached ada")
        ada_box.send_keys("|")
        text = converge(ada, bob, lambda text: "|" in text)
        assert text == "<<" + both[0] + "|" + both[1:], text

        WebDriverWait(ada, 10).until(lambda _: p["other"].email in names(ada), "ada never saw bob's name")
        WebDriverWait(bob, 10).until(lambda _: p["member"].email in names(bob), "bob never saw ada's name")

        # What they see is what the server stored.
        content = Client(HTTP_HOST=ACME)
        content.force_login(p["member"])
        WebDriverWait(ada, 10).until(
            lambda _: content.get(f"/api/docs/{document_id}/content").json()["text"] == text,
            "the server has other text",
        )

        bob_line = f"{p['other'].email} at line 1, column 3"  # bob's caret, after his "<<"
        WebDriverWait(ada, 10).until(lambda _: bob_line in people(ada), f"{bob_line!r} not in {people(ada)}")
        carets = ada.find_elements(By.CSS_SELECTOR, ".carets .caret")  # drawn over the textarea, with his name
        assert [c.get_attribute("textContent") for c in carets] == [p["other"].email]

        bob.get("about:blank")  # bob leaves: ada's list empties
        WebDriverWait(ada, 10).until(lambda _: names(ada) == [], "bob is still listed after leaving")


def page(user, path: str, host: str = ACME):
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.get(path)


def test_the_editor_page_admits_who_may_see_the_document(people, api):
    p = people
    notes, secret = p["notes"].pk, p["secret"].pk
    response = page(p["member"], f"/docs/{secret}")
    assert response.status_code == 200
    assert 'data-read-only="false"' in response.content.decode()
    assert "/static/documents/editor.js" in response.content.decode()
    assert 'data-read-only="true"' in page(p["other"], f"/docs/{secret}").content.decode()  # a viewer

    outsider = member_make(p["acme"], email="outsider@acme.test")  # in the tenant, not in the private doc
    for user, path in ((outsider, f"/docs/{secret}"), (p["member"], f"/docs/{p['globex_doc'].pk}")):
        response = page(user, path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "document_not_found"
    assert page(outsider, f"/docs/{notes}").status_code == 200

    response = page(p["globex"].owner, f"/docs/{notes}")  # another tenant's member
    assert response.status_code == 403, response.content

    response = Client(HTTP_HOST=ACME).get(f"/docs/{notes}")
    assert response.status_code == 302
    assert response["Location"] == f"/api-auth/login/?next=/docs/{notes}"

    switched = api.put(
        f"/api/tenants/{p['acme'].pk}/settings", token=p["acme"].owner_token, json={"features": {"realtime": False}}
    )
    assert switched.status_code == 200, switched.content
    response = page(p["member"], f"/docs/{notes}")  # its socket would be refused: so is the page
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "feature_disabled"
