"""Tell people: the bell (notifications) and the e-mail outbox."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import Application, HumanTask, Notification, Person

from .settings import SETTINGS

MAX_EMAIL_ATTEMPTS = 5
log = logging.getLogger(__name__)


def notify(session: Session, people: list[Person], *, kind: str, subject: str, body: str, now: datetime,
           link: str | None = None, application: Application | None = None, task: HumanTask | None = None) -> None:
    for person in {p.id: p for p in people}.values():
        session.add(Notification(person_id=person.id, kind=kind, subject=subject, body=body, link=link,
                                 application=application, human_task=task, created_at=now))


def unread_count(session: Session, person: Person) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == person.id, Notification.read_at.is_(None))) or 0


def list_notifications(session: Session, person: Person, limit: int = 100) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.person_id == person.id)
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(session: Session, person: Person, now: datetime, notification_id: int | None = None) -> None:
    """Mark one (or all) of this person's notifications read."""
    query = update(Notification).where(Notification.person_id == person.id, Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    session.execute(query.values(read_at=now))
    session.commit()


Mailer = Callable[[str, str, str], None]


def smtp_mailer(host: str, port: int, sender: str, username: str | None = None, password: str | None = None,
                use_tls: bool = False) -> Mailer:
    """A mailer sending through an SMTP server (one connection per message keeps failures local)."""
    def send(to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message.set_content(body)
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            if use_tls:
                smtp.starttls()
            if username:
                smtp.login(username, password or "")
            smtp.send_message(message)
    return send


def send_pending_emails(session: Session, mailer: Mailer, now: datetime, limit: int = 100) -> int:
    """Send committed notifications by e-mail, each at most once even with two senders running.

    Each row is claimed by a conditional UPDATE inside the sending transaction: a second sender
    waits for that transaction, then finds the row already sent (PostgreSQL skips locked rows outright).
    A message that fails is logged with its traceback and kept for a retry; the others still go out.
    """
    ids = session.scalars(select(Notification.id).join(Person).where(
        Notification.emailed_at.is_(None), Notification.email_attempts < MAX_EMAIL_ATTEMPTS,
        Person.email.is_not(None)).order_by(Notification.id).limit(limit)
        .with_for_update(skip_locked=True, of=Notification)).all()
    sent = 0
    for note_id in ids:
        claimed = session.execute(update(Notification).where(
            Notification.id == note_id, Notification.emailed_at.is_(None)).values(
            emailed_at=now, email_attempts=Notification.email_attempts + 1)).rowcount
        if not claimed:
            continue
        note = session.get(Notification, note_id)
        try:
            link = f"\n\n{SETTINGS.base_url}{note.link}" if note.link else ""
            mailer(note.person.email, note.subject, f"{note.body}{link}\n")
        except Exception as exc:  # noqa: BLE001 - one bad message or a mail server down must not stop the rest
            log.exception("e-mail for notification %s failed (attempt %s of %s)", note.id, note.email_attempts,
                          MAX_EMAIL_ATTEMPTS)
            note.emailed_at, note.email_error = None, f"{type(exc).__name__}: {exc}"[:500]
            continue
        sent += 1
    session.commit()
    return sent
