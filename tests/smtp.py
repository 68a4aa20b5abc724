"""A real SMTP server (aiosmtpd) on a loopback port: tests read what the platform sent."""

from __future__ import annotations

import email
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from .live import free_port

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


@dataclass
class Received:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")


class Mailbox:
    """The aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages: list[Received] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self._changed:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()

    def to(self, address: str) -> list[Received]:
        return [m for m in list(self.messages) if address in m.rcpt_tos]

    def wait(self, match: Callable[[Received], bool], *, count: int = 1, timeout: float = 15) -> list[Received]:
        """The first `count` messages that `match`, once they arrived (fails the test after `timeout` s)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in self.messages if match(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(found)} of {count} expected messages after {timeout} s; "
                        f"received: {[(m.rcpt_tos, m.subject) for m in self.messages]}"
                    )
                self._changed.wait(left)

    def wait_to(self, address: str, **kwargs) -> Received:
        return self.wait(lambda m: address in m.rcpt_tos, **kwargs)[0]


class SmtpServer:
    """Start, stop (an outage) and start again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def env(self) -> dict[str, str]:
        """What points a qcluster's email backend here (with quick retries)."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_TIMEOUT": "5",
            "EMAIL_RETRY_BACKOFF_SECONDS": "0.5",
        }

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpServer:
        if self._controller is None:
            controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
