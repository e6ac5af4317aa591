"""Tell people: the bell (notifications) and the e-mail outbox."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from models import Application, HumanTask, Notification, Person
from models.personal import Delivery, PersonSetting

from . import writes
from .settings import SETTINGS

MAX_EMAIL_ATTEMPTS = 5
log = logging.getLogger(__name__)


ADD_NOTIFICATIONS = insert(Notification.__table__)
_SETTINGS = PersonSetting.__table__
_CHANNELS = select(_SETTINGS.c.person_id, _SETTINGS.c.bell, _SETTINGS.c.email).where(
    _SETTINGS.c.person_id.in_(bindparam("people", expanding=True)))


def notify(session: Session, people: list[Person] | list[int], *, kind: str, subject: str, body: str,
           now: datetime, link: str | Callable[[], str] | None = None, application: Application | None = None,
           task: HumanTask | None = None, chosen: dict[int, tuple[Delivery, Delivery]] | None = None) -> None:
    """One message per person (``people``: the people or their ids), each channel as the person chose: at once,
    held for the day's digest, or off. ``chosen``: those choices (``channels``) when the caller has read them
    already, with the people.

    The rows are written at the commit by a prepared INSERT (``writes``), when an application or step opened in
    the same transaction has its id: ``link`` may be a callable for a link that names one.
    """
    unique = dict.fromkeys(p if isinstance(p, int) else p.id for p in people)
    if not unique:
        return
    if chosen is None:
        chosen = channels(session, list(unique))

    def rows() -> list[dict]:
        return notification_rows(unique, chosen, kind=kind, subject=subject, body=body,
                                 link=link() if callable(link) else link,
                                 application_id=application.id if application else None,
                                 task_id=task.id if task else None, now=now)

    writes.at_commit(session, ADD_NOTIFICATIONS, rows)


def notification_rows(person_ids, chosen: dict[int, tuple[Delivery, Delivery]], *, kind: str, subject: str,
                      body: str, link: str | None, application_id: int | None, task_id: int | None,
                      now: datetime) -> list[dict]:
    """The rows of one message to each of ``person_ids`` (once each), for ``ADD_NOTIFICATIONS``: each channel as
    the person chose (``channels``), every event on both for those who did not."""
    common = {"kind": kind, "subject": subject, "body": body, "link": link, "application_id": application_id,
              "human_task_id": task_id, "created_at": now}
    every = (Delivery.EVERY, Delivery.EVERY)
    return [{**common, "person_id": pid, "bell": chosen.get(pid, every)[0], "email": chosen.get(pid, every)[1]}
            for pid in dict.fromkeys(person_ids)]


def channels(session: Session, person_ids: list[int]) -> dict[int, tuple[Delivery, Delivery]]:
    """{person id: (bell, e-mail)} for those who chose; everyone else has every event on both."""
    if not person_ids:
        return {}
    rows = session.execute(_CHANNELS, {"people": person_ids})  # built once: a Core statement, no ORM rows
    return {person_id: (bell, email) for person_id, bell, email in rows}


def unread_in_bell(person_id):
    """SELECT of how many notifications under ``person_id``'s bell are unread (a value, or a column to correlate)."""
    return select(func.count()).select_from(Notification).where(
        Notification.person_id == person_id, Notification.read_at.is_(None), Notification.bell == Delivery.EVERY)


def unread_count(session: Session, person: Person) -> int:
    return session.scalar(unread_in_bell(person.id)) or 0


def list_notifications(session: Session, person: Person, limit: int = 100) -> list[Notification]:
    """Under the bell: what the person chose to see there (digested events show as their digest)."""
    return list(session.scalars(select(Notification).where(Notification.person_id == person.id,
                                                           Notification.bell == Delivery.EVERY)
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
    """Send committed notifications by e-mail, each at most once, committing per message.

    Each message is claimed and committed before it is sent, and its outcome committed after: a
    sender killed mid-batch re-sends nothing, and the message in flight at that moment stays
    claimed but not sent ("attempted, outcome unknown") rather than going out twice. A conditional
    UPDATE makes the claim, so a second sender running at once finds the row taken and moves on.
    """
    ids = session.scalars(select(Notification.id).join(Person).where(
        Notification.emailed_at.is_(None), Notification.email_claimed_at.is_(None),
        Notification.email == Delivery.EVERY, Notification.email_attempts < MAX_EMAIL_ATTEMPTS,
        Person.email.is_not(None))
        .order_by(Notification.id).limit(limit)).all()
    sent = 0
    for note_id in ids:
        if not _claim_email(session, note_id, now):
            continue
        note = session.get(Notification, note_id, populate_existing=True)  # the claimed row as committed
        try:
            link = f"\n\n{SETTINGS.base_url}{note.link}" if note.link else ""
            mailer(note.person.email, note.subject, f"{note.body}{link}\n")
        except Exception as exc:  # one bad message or a server hiccup must not stop the others
            log.exception("e-mail for notification %s failed (attempt %s of %s)", note_id, note.email_attempts,
                          MAX_EMAIL_ATTEMPTS)
            # Released: tried again next run.
            note.email_claimed_at, note.email_error = None, f"{type(exc).__name__}: {exc}"[:500]
        else:
            note.emailed_at, note.email_error = now, None
            sent += 1
        session.commit()
    return sent


def _claim_email(session: Session, note_id: int, now: datetime) -> bool:
    claimed = session.execute(update(Notification).where(
        Notification.id == note_id, Notification.emailed_at.is_(None), Notification.email_claimed_at.is_(None))
        .values(email_claimed_at=now, email_attempts=Notification.email_attempts + 1)).rowcount
    session.commit()
    return claimed == 1
