"""The daily digest: at 08:30 Taipei on working days, each person's held notifications become one message."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models import Notification
from models.personal import Delivery

from ..calendar import is_working_day, local_date, roc_date_text, roc_datetime_text
from ..settings import SETTINGS

DIGEST_HOUR, DIGEST_MINUTE = 8, 30


def send_digests(session: Session, now: datetime) -> int:
    """Fold each person's held notifications into one digest (bell, e-mail or both, as they chose); how many.

    Nothing on a weekend or holiday: what is held waits for the next working day's digest. Each person's rows are
    claimed by a conditional update, so a second scheduler running at the same moment makes no second digest.
    """
    if not is_working_day(local_date(now)):
        return 0
    held = session.scalars(select(Notification).where(
        Notification.digested_at.is_(None),
        or_(Notification.bell == Delivery.DIGEST, Notification.email == Delivery.DIGEST))
        .order_by(Notification.person_id, Notification.id)).all()
    by_person: dict[int, list[Notification]] = defaultdict(list)
    for note in held:
        by_person[note.person_id].append(note)
    return sum(_digest(session, person_id, notes, now) for person_id, notes in by_person.items())


def _digest(session: Session, person_id: int, notes: list[Notification], now: datetime) -> int:
    claimed = session.execute(update(Notification).where(
        Notification.id.in_([n.id for n in notes]), Notification.digested_at.is_(None))
        .values(digested_at=now)).rowcount
    if claimed != len(notes):  # another scheduler took some of them: it makes this person's digest
        session.rollback()
        return 0
    on = local_date(now)
    subject = f"【每日摘要】民國{roc_date_text(on)} 共 {len(notes)} 則通知"
    session.add(Notification(
        person_id=person_id, kind="digest", subject=subject, body=_body(notes), link="/inbox/", created_at=now,
        bell=Delivery.EVERY if any(n.bell == Delivery.DIGEST for n in notes) else Delivery.OFF,
        email=Delivery.EVERY if any(n.email == Delivery.DIGEST for n in notes) else Delivery.OFF))
    session.commit()
    return 1


def _body(notes: list[Notification]) -> str:
    parts = []
    for n, note in enumerate(notes, 1):
        link = f"\n  {SETTINGS.base_url}{note.link}" if note.link else ""
        body = "\n".join(f"  {line}" for line in note.body.splitlines())
        parts.append(f"{n}. {note.subject}（{roc_datetime_text(note.created_at)}）\n{body}{link}")
    return "\n\n".join(parts)
