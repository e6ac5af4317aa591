"""Log-in in the core: the password check, the lockout (附表十) and the administrator's unlock and deactivation."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from models import AuditEvent, Notification
from tests.conftest import NOW
from workflows.errors import Forbidden, NotFound
from workflows.identity.authentication import authenticate
from workflows.identity.people import deactivate_person, unlock_person
from workflows.identity.sessions import find_signed_in, log_out


@pytest.fixture
def quick_hash(session, person):
    """The applicant's password "demo" behind a one-round hash, so ten attempts take no seconds."""
    person("applicant").password_hash = generate_password_hash("demo", method="pbkdf2:sha256:1")
    session.commit()


def attempt(session, password, *, at=NOW, username="applicant"):
    return authenticate(session, username=username, password=password, now=at, address="192.0.2.7")


def fail(session, times, *, start=NOW, step=timedelta(minutes=1), username="applicant"):
    for i in range(times):
        assert attempt(session, "wrong", at=start + i * step, username=username) is None


def events(session, event_type):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_the_right_password_signs_in_and_a_wrong_one_does_not(session, person):
    assert attempt(session, "demo") == person("applicant")
    assert attempt(session, "wrong") is None
    assert attempt(session, "demo", username="nobody") is None


def test_five_failures_within_15_minutes_lock_the_account_even_against_the_right_password(session, person, quick_hash):
    fail(session, 5)  # 12:00 … 12:04 (Taipei 10:00 …)
    assert attempt(session, "demo", at=NOW + timedelta(minutes=5)) is None  # the 6th attempt: refused
    applicant = person("applicant")
    assert applicant.locked_until == NOW + timedelta(minutes=4 + 15)
    [locked] = events(session, "person_locked")
    assert locked.subject_id == applicant.id and locked.payload["failures"] == 5
    assert locked.payload["address"] == "192.0.2.7"
    # The person hears of it (the one trying does not: the log-in answer stays the same).
    [notice] = session.scalars(select(Notification).where(Notification.person_id == applicant.id,
                                                          Notification.kind == "security"))
    assert "連續 5 次登入失敗" in notice.body


def test_the_lock_lifts_after_15_minutes(session, person, quick_hash):
    fail(session, 5)
    assert attempt(session, "demo", at=NOW + timedelta(minutes=18)) is None
    assert attempt(session, "demo", at=NOW + timedelta(minutes=19)) == person("applicant")
    assert person("applicant").locked_until is None


def test_four_failures_do_not_lock_and_a_success_forgets_them(session, person, quick_hash):
    fail(session, 4)
    assert attempt(session, "demo", at=NOW + timedelta(minutes=4)) == person("applicant")
    fail(session, 4, start=NOW + timedelta(minutes=5))
    assert attempt(session, "demo", at=NOW + timedelta(minutes=9)) == person("applicant")
    assert events(session, "person_locked") == []


def test_failures_older_than_the_window_are_forgotten(session, person, quick_hash):
    fail(session, 4)  # 00 … 03
    fail(session, 1, start=NOW + timedelta(minutes=16))  # the window opened at 00 has closed: a new one
    assert attempt(session, "demo", at=NOW + timedelta(minutes=17)) == person("applicant")


def test_failures_while_locked_do_not_extend_the_lock(session, person, quick_hash):
    fail(session, 5)
    until = person("applicant").locked_until
    fail(session, 5, start=NOW + timedelta(minutes=6))
    assert person("applicant").locked_until == until
    assert len(events(session, "person_locked")) == 1


def test_an_administrator_unlocks_at_once_and_the_unlock_is_audited(session, person, quick_hash):
    fail(session, 5)
    with pytest.raises(Forbidden):
        unlock_person(session, "applicant", actor=person("manager"), now=NOW + timedelta(minutes=6))
    unlock_person(session, "applicant", actor=person("admin"), now=NOW + timedelta(minutes=6))
    assert attempt(session, "demo", at=NOW + timedelta(minutes=7)) == person("applicant")
    [unlocked] = events(session, "person_unlocked")
    assert unlocked.actor_id == person("admin").id and unlocked.payload["locked_until"]
    with pytest.raises(NotFound):
        unlock_person(session, "nobody", actor=person("admin"), now=NOW)


def test_unknown_users_and_wrong_passwords_both_run_the_password_hash(session, monkeypatch, real_password_checks):
    hashed = []
    real = hashlib.scrypt

    def spy(password, **kwargs):
        hashed.append(password)
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    attempt(session, "guess-1", username="nobody")
    attempt(session, "guess-2")
    assert hashed == [b"guess-1", b"guess-2"]


def test_an_inactive_person_cannot_sign_in_and_gets_the_same_answer(session, person):
    deactivate_person(session, "applicant", actor=person("admin"), now=NOW)
    assert attempt(session, "demo") is None


def test_log_out_and_deactivation_end_every_session_of_the_person(session, person):
    applicant = person("applicant")
    issued = applicant.session_generation
    assert find_signed_in(session, applicant.id, issued) == applicant
    log_out(session, actor=applicant, now=NOW)
    assert find_signed_in(session, applicant.id, issued) is None
    current = person("applicant").session_generation
    assert find_signed_in(session, applicant.id, current) is not None
    deactivate_person(session, "applicant", actor=person("admin"), now=NOW)
    assert find_signed_in(session, applicant.id, current) is None
    assert [e.event_type for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_id == applicant.id,
                                                                            AuditEvent.subject_type == "person"))
            ] == ["person_logged_out", "person_deactivated"]


def test_only_an_administrator_deactivates_and_never_themselves(session, person):
    with pytest.raises(Forbidden):
        deactivate_person(session, "applicant", actor=person("manager"), now=NOW)
    with pytest.raises(Forbidden):
        deactivate_person(session, "admin", actor=person("admin"), now=NOW)
    assert person("applicant").active and person("admin").active
