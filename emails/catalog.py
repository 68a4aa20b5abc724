"""The emails the platform can send. Each is a pair of Django templates,
config/templates/emails/<name>.txt and <name>.html, with a declared context schema:
a message is rendered from validated data only (HTML escaped, text as is).

Besides its own context, every template gets `tenant` ({name, host, url}): the sender,
which for the platform's own emails (no tenant) is the platform itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from jobs.registry import Payload


class GenericContext(Payload):
    heading: str = Field("", max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class WelcomeContext(Payload):
    role: Literal["owner", "admin", "member"] = "member"
    note: str = Field("", max_length=2_000, description="A line from whoever added the member.")


class DigestNotification(Payload):
    event: str
    at: str


class DigestMessage(Payload):
    author: str
    body: str
    at: str


class DigestRoom(Payload):
    name: str
    count: int
    latest: list[DigestMessage]


class DigestContext(Payload):
    date: str
    unread_notifications: int
    notifications: list[DigestNotification]
    new_messages: int
    rooms: list[DigestRoom]


class AccountCreatedContext(Payload):
    email: str
    verify_token: str = Field("", max_length=500, description="The new account's email verification token.")
    valid_hours: int = 0


class LinkTokenContext(Payload):
    """A password reset or email verification: the token the link carries and how long it lives."""

    email: str
    token: str = Field(min_length=1, max_length=500)
    valid_minutes: int = 0
    valid_hours: int = 0


class InvitationContext(Payload):
    """An invitation to join the tenant (tenants/invitations.py): the link carries its token."""

    email: str
    role: Literal["owner", "admin", "member"] = "member"
    inviter: str = Field("", max_length=254, description="Who invited (their email); empty: the platform.")
    link: str = Field(min_length=1, max_length=2_000)
    accept_url: str = Field(min_length=1, max_length=2_000)
    token: str = Field(min_length=1, max_length=500)
    valid_days: int = 0


class EmailChangedContext(Payload):
    old_email: str
    new_email: str


class PasswordChangedContext(Payload):
    email: str
    via: Literal["reset", "change"]


class SignupAttemptedContext(Payload):
    email: str


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    context: type[BaseModel]
    api: bool  # tenant admins may send it through POST /api/send-email


EMAIL_TEMPLATES: dict[str, EmailTemplate] = {
    t.name: t
    for t in [
        EmailTemplate("generic", GenericContext, api=True),
        EmailTemplate("welcome", WelcomeContext, api=True),
        EmailTemplate("digest", DigestContext, api=False),  # built by the digest job from the tenant's data
        EmailTemplate("invitation", InvitationContext, api=False),  # its link's token: tenants/invitations.py
        # The platform's own (no tenant): the two answers to a signup (accounts.domain_events.SignupRequested).
        EmailTemplate("account_created", AccountCreatedContext, api=False),
        EmailTemplate("signup_attempted", SignupAttemptedContext, api=False),
        # The account flows (accounts/flows.py and its domain events).
        EmailTemplate("password_reset", LinkTokenContext, api=False),
        EmailTemplate("verify_email", LinkTokenContext, api=False),
        EmailTemplate("password_changed", PasswordChangedContext, api=False),
        EmailTemplate("email_changed", EmailChangedContext, api=False),
    ]
}


def email_template_get(name: str, *, api: bool = False) -> EmailTemplate | None:
    template = EMAIL_TEMPLATES.get(name)
    if template is None or (api and not template.api):
        return None
    return template


def email_templates_for_api() -> list[str]:
    return sorted(name for name, template in EMAIL_TEMPLATES.items() if template.api)
