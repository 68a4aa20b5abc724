"""The API docs in headless Chromium: they work without internet (assets served by the app)."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import chromium


def foreign_assets(browser, origin: str, kinds=("script", "link", "css", "fetch", "xmlhttprequest")) -> list[str]:
    """The scripts, stylesheets, fonts and API calls the page loaded from elsewhere."""
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.initiatorType])"
    )
    return [
        url for url, kind in entries if kind in kinds and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != origin
    ]


def test_swagger_ui_shows_the_operations_from_local_assets(asgi_server, tmp_path):
    origin = f"http://localhost:{asgi_server.port}"
    with chromium(tmp_path) as browser:
        browser.get(f"{origin}/api/docs/")
        WebDriverWait(browser, 20).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, '.opblock-summary-path[data-path="/api/tenants"]'),
            "Swagger UI did not render the /api/tenants operation",
        )
        paths = {e.get_attribute("data-path") for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert {"/api/auth/token", "/api/rooms/{room_id}/messages", "/api/files/{file_id}/download"} <= paths
        assert foreign_assets(browser, origin) == []


def test_redoc_shows_the_operations_from_local_assets(asgi_server, tmp_path):
    origin = f"http://localhost:{asgi_server.port}"
    with chromium(tmp_path) as browser:
        browser.get(f"{origin}/api/redoc/")
        WebDriverWait(browser, 20).until(
            lambda d: (
                "/api/tenants/{tenant_id}/members" in d.find_element(By.TAG_NAME, "body").get_attribute("textContent")
            ),
            "ReDoc did not render the operations",
        )
        assert foreign_assets(browser, origin) == []
