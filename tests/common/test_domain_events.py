"""The domain-event bus (common/domain_events.py): when subscribers run, what a failure
does, and the registry of names. Committed (transactional) where commits matter: in a
test wrapped in a transaction nothing would ever be "after commit"."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from common.actors import Actor
from common.domain_events import DomainEvent, captured, domain_event, emit, events_declared, subscribe, subscribers_of
from tenants.domain_events import MemberAdded, MemberRemoved, TenantSuspended

calls: list[tuple[str, object]] = []


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()
    yield
    calls.clear()


@domain_event("test.after_commit")
class AfterCommit(DomainEvent):
    value: int


@subscribe(AfterCommit)
def _after(event: AfterCommit, actor: Actor | None) -> None:
    calls.append(("after", event.value))


@domain_event("test.within")
class Within(DomainEvent):
    email: str


@subscribe(Within, within_transaction=True)
def _within_writes(event: Within, actor: Actor | None) -> None:
    get_user_model().objects.create_user(email=event.email, password="x")
    calls.append(("within", event.email))


@subscribe(Within, within_transaction=True)
def _within_refuses(event: Within, actor: Actor | None) -> None:
    if event.email.startswith("refused"):
        raise RuntimeError("refused")


@domain_event("test.mixed")
class Mixed(DomainEvent):
    refuse: bool


@subscribe(Mixed)  # connected first, yet queued only once every within-transaction one has run
def _mixed_after(event: Mixed, actor: Actor | None) -> None:
    calls.append(("after", event.refuse))


@subscribe(Mixed, within_transaction=True)
def _mixed_within(event: Mixed, actor: Actor | None) -> None:
    if event.refuse:
        raise RuntimeError("refused")


@domain_event("test.failing")
class Failing(DomainEvent):
    pass


@subscribe(Failing)
def _fails(event: Failing, actor: Actor | None) -> None:
    calls.append(("fails", None))
    raise RuntimeError("the subscriber broke")


@subscribe(Failing)
def _still_runs(event: Failing, actor: Actor | None) -> None:
    calls.append(("still_runs", actor))


def test_an_after_commit_subscriber_runs_after_the_commit_not_before(transactional_db):
    with transaction.atomic():
        emit(AfterCommit(value=1))
        assert calls == []
    assert calls == [("after", 1)]


def test_an_after_commit_subscriber_does_not_run_when_the_transaction_rolls_back(transactional_db):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(AfterCommit(value=2))
        raise RuntimeError("the write failed")
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back
            emit(AfterCommit(value=3))
            raise RuntimeError("the inner write failed")
        emit(AfterCommit(value=4))
    assert calls == [("after", 4)]


def test_outside_a_transaction_an_after_commit_subscriber_runs_at_once(transactional_db):
    emit(AfterCommit(value=5))
    assert calls == [("after", 5)]


def test_a_within_transaction_subscriber_runs_in_the_transaction_and_its_writes_commit_with_it(transactional_db):
    users = get_user_model().objects
    with transaction.atomic():
        emit(Within(email="kept@example.test"))
        assert calls == [("within", "kept@example.test")]  # synchronously, in emit
    assert users.filter(email="kept@example.test").exists()


def test_a_within_transaction_subscriber_failing_rolls_the_whole_write_back(transactional_db):
    users = get_user_model().objects
    with pytest.raises(RuntimeError, match="refused"), transaction.atomic():
        users.create_user(email="the-change@example.test", password="x")
        emit(Within(email="refused@example.test"))
    assert not users.filter(email__in=["the-change@example.test", "refused@example.test"]).exists()


def test_a_within_transaction_subscriber_failing_leaves_no_after_commit_subscriber_to_run(transactional_db):
    with pytest.raises(RuntimeError):
        emit(Mixed(refuse=True))  # in autocommit: an after-commit subscriber queued first would run at once

    emit(Mixed(refuse=False))
    assert calls == [("after", False)]


def test_a_failing_after_commit_subscriber_is_logged_and_the_others_still_run(transactional_db, caplog):
    actor = Actor(ip="192.0.2.1")
    with caplog.at_level(logging.ERROR, logger="common.domain_events"), transaction.atomic():
        emit(Failing(), actor=actor)
    assert calls == [("fails", None), ("still_runs", actor)]
    (record,) = [r for r in caplog.records if r.name == "common.domain_events"]
    assert "test.failing" in record.getMessage() and record.exc_info[0] is RuntimeError


def test_captured_records_what_was_emitted_and_delivery_still_happens(transactional_db):
    with captured() as events:
        emit(AfterCommit(value=6))
    assert events == [AfterCommit(value=6)] and calls == [("after", 6)]


def test_events_are_frozen_and_refuse_unknown_fields():
    event = AfterCommit(value=1)
    with pytest.raises(ValueError):
        event.value = 2
    with pytest.raises(ValueError):
        AfterCommit(value=1, surprise=True)
    assert event.model_dump(mode="json") == {"value": 1} and event.name == "test.after_commit"


def test_a_name_is_declared_once_and_well_formed():
    with pytest.raises(ValueError, match="declared twice"):

        @domain_event("test.after_commit")
        class Another(DomainEvent):
            pass

    with pytest.raises(ValueError, match="dotted"):
        domain_event("NoDots")
    assert events_declared()["test.after_commit"] is AfterCommit


def test_only_declared_events_are_emitted_or_subscribed_to():
    class Undeclared(DomainEvent):
        pass

    with pytest.raises(TypeError):
        emit(Undeclared())
    with pytest.raises(TypeError):
        subscribe(Undeclared)


def test_subscribing_the_same_function_twice_delivers_once(transactional_db):
    subscribe(AfterCommit)(_after)  # as a second import of a subscribers module would
    emit(AfterCommit(value=7))
    assert calls == [("after", 7)]


def test_every_platform_event_has_a_unique_name_and_a_json_schema():
    declared = {name: cls for name, cls in events_declared().items() if not name.startswith("test.")}
    assert {
        "tenant.created",
        "tenant.suspended",
        "tenant.reactivated",
        "tenant.settings_changed",
        "member.added",
        "member.removed",
        "member.role_changed",
        "domain.added",
        "domain.removed",
        "domain.changed",
        "credential.revoked",
        "user.deactivated",
        "user.deleted",
        "user.signup_requested",
        "file.stored",
    } <= set(declared)
    assert len(set(declared.values())) == len(declared)  # one class per name, one name per class
    for name, cls in declared.items():
        assert cls.name == name
        assert cls.model_json_schema()["type"] == "object"  # JSON-able: what webhooks will carry


def test_the_apps_subscribers_are_connected_by_their_app_configs():
    """(Nothing in this module imports a subscribers module: AppConfig.ready() did.)"""

    def modules(event_class):
        return {key.rsplit(".", 1)[0]: within for key, within in subscribers_of(event_class)}

    webhooks = {"webhooks.subscribers": True}  # every event of a tenant (tests/webhooks)
    assert modules(MemberAdded) == {"tenants.subscribers": True, "emails.subscribers": True, **webhooks}
    assert modules(MemberRemoved) == {"tenants.subscribers": True, "realtime.subscribers": False, **webhooks}
    assert modules(TenantSuspended) == {
        "tenants.subscribers": True,
        "realtime.subscribers": False,
        "jobs.subscribers": True,
        **webhooks,
    }


def test_the_architecture_page_lists_every_declared_event():
    import re

    from tests.live import ROOT

    page = (ROOT / "docs" / "architecture.md").read_text()
    paragraph = page[page.index("Events declared today") : page.index("The events\nthat carry a tenant")]
    count = int(re.search(r"Events declared today \((\d+)\)", paragraph).group(1))
    listed = re.findall(r"`([a-z_]+\.[a-z_]+)`", paragraph)
    declared = [name for name in events_declared() if not name.startswith("test.")]  # this module's own
    assert sorted(listed) == sorted(declared) and count == len(listed)
