"""The e-mail outbox sends each message at most once, even when the sender dies in the middle of a batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification
from tests.conftest import NOW
from workflows import notify as notifications

RECIPIENTS = ["applicant", "sw_unit_head", "manager", "sw_head", "labor_clerk"]


@pytest.fixture
def outbox(session, person):
    for n, username in enumerate(RECIPIENTS):
        session.add(Notification(person_id=person(username).id, kind="reminder", subject=f"提醒 {n}", body="請處理",
                                 created_at=NOW))
    session.commit()
    return [f"{u}@demo.kcg.gov.tw" for u in RECIPIENTS]


class Mailer:
    """Records what it sends; ``crash_on`` dies like a killed process on that message (1-based)."""

    def __init__(self, crash_on: int | None = None, crash: type[BaseException] = SystemExit):
        self.sent: list[str] = []
        self.calls = 0
        self.crash_on, self.crash = crash_on, crash

    def __call__(self, to: str, subject: str, body: str) -> None:
        self.calls += 1
        if self.calls == self.crash_on:
            raise self.crash()
        self.sent.append(to)


@pytest.mark.parametrize("crash", [SystemExit, KeyboardInterrupt])
def test_a_crash_mid_batch_sends_nothing_twice(engine, outbox, crash):
    crashing = Mailer(crash_on=3, crash=crash)
    with Session(engine) as first, pytest.raises(crash):
        notifications.send_pending_emails(first, crashing, NOW)
    assert crashing.sent == outbox[:2]

    after_restart = Mailer()
    with Session(engine) as second:
        assert notifications.send_pending_emails(second, after_restart, NOW + timedelta(minutes=1)) == 2
        rows = second.scalars(select(Notification).order_by(Notification.id)).all()
    assert after_restart.sent == outbox[3:]  # not the first two again, and not the one in flight at the crash
    assert [r.emailed_at is not None for r in rows] == [True, True, False, True, True]
    in_flight = rows[2]
    assert in_flight.email_attempts == 1 and in_flight.email_claimed_at == NOW  # attempted, outcome unknown


def test_each_message_is_committed_before_the_next_is_sent(engine, outbox):
    seen_committed = []

    def mailer(to: str, subject: str, body: str) -> None:
        with Session(engine) as other:  # another connection sees only committed rows
            seen_committed.append(len(other.scalars(select(Notification).where(
                Notification.emailed_at.is_not(None))).all()))

    with Session(engine) as session:
        assert notifications.send_pending_emails(session, mailer, NOW) == len(outbox)
    assert seen_committed == [0, 1, 2, 3, 4]


def test_a_failed_message_is_released_for_a_later_retry_and_the_rest_still_go(engine, outbox):
    class Refusing(Mailer):
        def __call__(self, to, subject, body):
            if to == outbox[1]:
                raise OSError("connection refused")
            super().__call__(to, subject, body)

    mailer = Refusing()
    with Session(engine) as session:
        assert notifications.send_pending_emails(session, mailer, NOW) == 4
        assert "OSError: connection refused" in session.scalars(select(Notification.email_error)).all()
        assert notifications.send_pending_emails(session, Mailer(), NOW + timedelta(minutes=1)) == 1
        refused = session.scalars(select(Notification).order_by(Notification.id)).all()[1]
    assert refused.emailed_at is not None and refused.email_attempts == 2 and refused.email_error is None
