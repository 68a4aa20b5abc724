"""A real browser for the tests: headless Debian Chromium through its chromedriver.

Needs Debian's `chromium` and `chromium-driver` (`make test` installs them); without them a
test fails rather than skips, so CI cannot go green without running it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@contextmanager
def chromium(tmp_path: Path):
    """Headless Debian Chromium through its chromedriver (nothing is downloaded)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: `apt-get install chromium chromium-driver` "
            "(.ci/run does it before `make test`).",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
