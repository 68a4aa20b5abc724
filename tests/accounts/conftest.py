import re

import pytest


@pytest.fixture
def mailbox(smtp_server):
    """The session SMTP server's mailbox, emptied."""
    smtp_server.start()
    smtp_server.mailbox.clear()
    yield smtp_server.mailbox
    smtp_server.start()


def token_in(message) -> str:
    """The link token an account email carries (text and HTML both show it)."""
    found = re.search(r'"token": "([^"]+)"', message.text)
    assert found, message.text
    assert found.group(1) in message.html
    return found.group(1)
