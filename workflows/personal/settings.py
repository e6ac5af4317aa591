"""A person's own settings: e-mail address, how each channel tells them, and their language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import Person
from models.personal import Delivery, PersonSetting

from .. import audit, validators
from ..errors import Invalid

LOCALES = ("zh_Hant_TW", "en")
DELIVERY_LABELS = {Delivery.EVERY: "每一則即時通知", Delivery.DIGEST: "每日摘要（工作日 08:30）",
                   Delivery.OFF: "不通知"}


@dataclass(frozen=True)
class SettingsView:
    username: str
    name: str
    email: str | None
    bell: str
    email_delivery: str
    locale: str | None


def get_settings(session: Session, person: Person) -> SettingsView:
    row = session.get(PersonSetting, person.id)
    return SettingsView(person.username, person.name, person.email,
                        (row.bell if row else Delivery.EVERY).value,
                        (row.email if row else Delivery.EVERY).value, row.locale if row else None)


def preferred_locale(session: Session, person: Person) -> str | None:
    """The language the person chose (it follows them to any browser), or None."""
    row = session.get(PersonSetting, person.id)
    return row.locale if row else None


def _setting(session: Session, person: Person) -> PersonSetting:
    row = session.get(PersonSetting, person.id)
    if row is None:
        row = PersonSetting(person_id=person.id, bell=Delivery.EVERY, email=Delivery.EVERY)
        session.add(row)
    return row


def _delivery(errors: dict[str, str], name: str, value: str) -> Delivery | None:
    try:
        return Delivery(value)
    except ValueError:
        errors[name] = f"須為 {', '.join(d.value for d in Delivery)} 之一"
        return None


def update_settings(session: Session, *, actor: Person, email: str, bell: str, email_delivery: str,
                    locale: str | None, now: datetime) -> SettingsView:
    """Change one's own settings; 422 naming each field that does not fit. An e-mail of "" removes it."""
    errors: dict[str, str] = {}
    address = None
    if email.strip():
        try:
            address = validators.email(email)
        except validators.FieldError as exc:
            errors["email"] = str(exc)
    bell_choice, email_choice = _delivery(errors, "bell", bell), _delivery(errors, "email_delivery", email_delivery)
    if locale not in (None, "", *LOCALES):
        errors["locale"] = f"須為 {', '.join(LOCALES)} 之一"
    if errors:
        raise Invalid(errors)
    row = _setting(session, actor)
    before = {"email": actor.email, "bell": row.bell, "email_delivery": row.email, "locale": row.locale}
    actor.email, row.bell, row.email, row.locale = address, bell_choice, email_choice, locale or None
    row.updated_at = now
    after = {"email": actor.email, "bell": row.bell, "email_delivery": row.email, "locale": row.locale}
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit.record(session, "settings_changed", actor=actor, subject_type="person", subject_id=actor.id, now=now,
                     changed=changed)
    session.commit()
    return get_settings(session, actor)


def choose_locale(session: Session, *, actor: Person, locale: str, now: datetime) -> None:
    """The language switch, for a signed-in person: the choice is kept on the person."""
    if locale not in LOCALES:
        raise Invalid({"locale": f"須為 {', '.join(LOCALES)} 之一"})
    row = _setting(session, actor)
    if row.locale != locale:
        row.locale, row.updated_at = locale, now
        audit.record(session, "settings_changed", actor=actor, subject_type="person", subject_id=actor.id, now=now,
                     changed=["locale"])
        session.commit()
