"""Log-in: check the password, count failures, lock an account that keeps failing (附表十)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import Person

from .. import audit
from ..calendar import TAIPEI
from ..notify import notify
from ..settings import SETTINGS


@cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made with the same method as real ones."""
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(session: Session, *, username: str, password: str, now: datetime,
                 address: str | None = None) -> Person | None:
    """The person these credentials sign in, or None; a wrong password counts towards locking the account.

    Unknown, inactive, locked and wrong all come back as None after the same password hash, so neither the
    answer nor its time tells whether a username exists.
    """
    person = session.scalar(select(Person).where(Person.username == username.strip()))
    if person is None:
        check_password_hash(_dummy_hash(), password)
        session.commit()
        return None
    password_ok = person.check_password(password)
    # Re-read under a row lock (PostgreSQL) so that concurrent failures are all counted.
    session.refresh(person, with_for_update=True)
    if not person.active or is_locked(person, now):
        signed_in = None
    elif password_ok:
        person.failed_logins, person.failed_logins_since, person.locked_until = 0, None, None
        signed_in = person
    else:
        _count_failure(session, person, now, address)
        signed_in = None
    session.commit()
    return signed_in


def is_locked(person: Person, now: datetime) -> bool:
    return person.locked_until is not None and now < person.locked_until


def _count_failure(session: Session, person: Person, now: datetime, address: str | None) -> None:
    window = timedelta(minutes=SETTINGS.login_window_minutes)
    if person.failed_logins_since is None or now - person.failed_logins_since >= window:
        person.failed_logins, person.failed_logins_since = 0, now
    person.failed_logins += 1
    if person.failed_logins >= SETTINGS.login_max_failures:
        _lock(session, person, now, address)


def _lock(session: Session, person: Person, now: datetime, address: str | None) -> None:
    failures = person.failed_logins
    person.locked_until = now + timedelta(minutes=SETTINGS.login_lockout_minutes)
    person.failed_logins, person.failed_logins_since = 0, None
    audit.record(session, "person_locked", actor=None, subject_type="person", subject_id=person.id, now=now,
                 failures=failures, locked_until=person.locked_until.isoformat(), address=address)
    until = person.locked_until.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
    # Told to the person, never to whoever is trying: the log-in answer stays the same for everyone.
    notify(session, [person], kind="security", subject="【帳號鎖定】連續登入失敗，帳號暫停登入", now=now,
           body=f"您的帳號 {person.username} 連續 {failures} 次登入失敗，已暫停登入至 {until}（臺北時間）。"
                "如非本人操作，請通知系統管理者。")
