"""Each person's choice per channel, and the daily digest at a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest

from tests.conftest import registration
from workflows import notify as notifications
from workflows.errors import Invalid
from workflows.filing.applications import submit_application
from workflows.personal.digest import send_digests
from workflows.personal.settings import get_settings, update_settings
from workflows.settings import SETTINGS

TUESDAY_MORNING = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
TUESDAY_AFTERNOON = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00
WEDNESDAY_DIGEST = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 08:30
SATURDAY_DIGEST = datetime(2026, 12, 5, 0, 30, tzinfo=UTC)
NATIONAL_ID = re.compile(r"[A-Z][12]\d{8}")


@pytest.fixture
def smtp(smtp_sink):
    sink, port = smtp_sink
    return sink, notifications.smtp_mailer("127.0.0.1", port, "webir-bpm@demo.kcg.gov.tw")


def register(session, person, case: str, now: datetime):
    return submit_application(session, form_key="query_registration", data=registration(case_number=case),
                              actor=person("applicant"), now=now)


def received(envelope) -> tuple[str, str]:
    message = email.message_from_bytes(envelope.content)
    return str(make_header(decode_header(message["Subject"]))), message.get_payload(decode=True).decode()


def test_a_digest_collects_a_days_arrivals_into_one_e_mail(session, person, smtp):
    sink, mailer = smtp
    head = person("sw_unit_head")
    update_settings(session, actor=head, email=head.email, bell="every", email_delivery="digest", locale=None,
                    now=TUESDAY_MORNING)
    first = register(session, person, "115-社救-0201", TUESDAY_MORNING)
    second = register(session, person, "115-社救-0202", TUESDAY_AFTERNOON)

    assert notifications.send_pending_emails(session, mailer, TUESDAY_AFTERNOON) == 0  # held for the digest
    assert [n.subject for n in notifications.list_notifications(session, head)] == [
        f"【待辦】單位主管核可（案號 {second.id}）", f"【待辦】單位主管核可（案號 {first.id}）"]  # the bell: at once

    assert send_digests(session, WEDNESDAY_DIGEST) == 1
    assert send_digests(session, WEDNESDAY_DIGEST) == 0  # once
    assert notifications.send_pending_emails(session, mailer, WEDNESDAY_DIGEST) == 1
    [envelope] = sink.messages
    assert envelope.rcpt_tos == [head.email]
    subject, body = received(envelope)
    assert subject == "【每日摘要】民國115年12月02日 共 2 則通知"
    for app in (first, second):
        assert f"表單：查調資料登記表（案號 {app.id}）" in body
        assert f"{SETTINGS.base_url}/tasks/{app.tasks[0].id}" in body
    assert "申請人：林怡君（高雄市政府社會局）" in body and "步驟：單位主管核可" in body
    assert "辦理期限：民國115年12月04日 09:00（臺北時間）" in body  # 3 working days after Tuesday 09:00
    assert not NATIONAL_ID.search(body) and not NATIONAL_ID.search(subject)
    # The bell showed each event already: the digest is e-mail only.
    assert [n.kind for n in notifications.list_notifications(session, head)] == ["task_arrived", "task_arrived"]


def test_no_digest_on_a_weekend_and_off_means_off(session, person, smtp):
    sink, mailer = smtp
    head = person("sw_unit_head")
    update_settings(session, actor=head, email=head.email, bell="digest", email_delivery="off", locale=None,
                    now=TUESDAY_MORNING)
    register(session, person, "115-社救-0203", TUESDAY_MORNING)
    assert notifications.list_notifications(session, head) == []  # held for the bell's digest
    assert send_digests(session, SATURDAY_DIGEST) == 0
    assert send_digests(session, datetime(2026, 12, 7, 0, 30, tzinfo=UTC)) == 1  # Monday
    [digest] = notifications.list_notifications(session, head)
    assert digest.kind == "digest" and "共 1 則通知" in digest.subject
    assert notifications.send_pending_emails(session, mailer, WEDNESDAY_DIGEST) == 0 and sink.messages == []


def test_settings_refuse_what_does_not_fit(session, person):
    head = person("sw_unit_head")
    with pytest.raises(Invalid) as refused:
        update_settings(session, actor=head, email="not-an-address", bell="hourly", email_delivery="every",
                        locale="fr", now=TUESDAY_MORNING)
    assert set(refused.value.errors) == {"email", "bell", "locale"}
    assert get_settings(session, head).email_delivery == "every"
