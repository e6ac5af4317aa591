"""Attachments through the real parts: content checked by its bytes, who may add, read and withdraw, drafts bound at
submit through a form's attachment field, purged when never filed, and every act audited with the file's hash."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, text

from models import Application, Attachment, AuditEvent, TaskState
from tests import files
from tests.conftest import NOW, REGISTRATION
from tests.conftest import registration as registration_data
from workflows import forms, settings
from workflows.attachments.content import sniff
from workflows.attachments.reads import list_attachments, list_drafts
from workflows.attachments.records import (
    MAX_DRAFTS,
    Upload,
    add_attachment,
    add_draft,
    bind_files,
    purge_stale_drafts,
    read_attachment,
    remove_attachment,
)
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.retention import destruction

# The destruction's own helpers: a registration five years past, the yearly list, its two decisions.
from ..retention.test_destruction import LIST_DAY, decide, registration, the_list

LIMIT = 10 * 1024 * 1024


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def consent_form(monkeypatch):
    """The registration with a consent file required under 社會局's basis (as a pack's required_when says)."""
    spec = forms.FORMS["query_registration"]
    field = forms.Field("consent", "當事人同意書", "attachment", required=True,
                        required_when=("legal_basis", (REGISTRATION["legal_basis"],)))
    monkeypatch.setitem(forms.FORMS, "query_registration", replace(spec, fields=(*spec.fields, field)))


def events(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                           .order_by(AuditEvent.id)).all()


@pytest.mark.parametrize(("data", "media_type"), [(files.pdf(), "application/pdf"), (files.png(), "image/png"),
                                                  (files.jpeg(), "image/jpeg")])
def test_pdf_png_and_jpeg_are_known_by_their_content(data, media_type):
    assert sniff(data, LIMIT).media_type == media_type


def test_a_program_renamed_to_pdf_is_refused_naming_what_it_is(session, person):
    with pytest.raises(Invalid) as refused:
        add_draft(session, upload=Upload(files.exe(), "consent.pdf"), actor=person("applicant"), now=NOW)
    assert "application/x-msdownload" in refused.value.errors["file"]
    assert "PDF、JPEG 或 PNG" in refused.value.errors["file"]
    assert session.scalar(select(Attachment.id)) is None


@pytest.mark.parametrize("data", [files.pdf()[:-40], files.png()[:40], b"%PDF-1.4\n" + b"x" * 100, b""])
def test_truncated_damaged_or_empty_files_are_refused(data):
    with pytest.raises(Invalid) as refused:
        sniff(data, LIMIT)
    assert refused.value.errors["file"]


def test_a_file_over_the_limit_is_refused_with_the_limit_in_the_message(session, person, monkeypatch):
    monkeypatch.setattr(settings.SETTINGS, "attachment_max_bytes", 2048)
    big = files.pdf("x" * 3000)
    assert sniff(files.pdf(), 2048)  # a small one passes the same limit
    with pytest.raises(Invalid) as refused:
        add_draft(session, upload=Upload(big, "scan.pdf"), actor=person("applicant"), now=NOW)
    assert "超過上限" in refused.value.errors["file"] and "MB" in refused.value.errors["file"]


def test_a_draft_is_bound_at_submit_through_the_forms_attachment_field(session, person, consent_form):
    applicant = person("applicant")
    data = files.pdf("I agree")
    draft = add_draft(session, upload=Upload(data, "同意書.pdf", label="當事人同意書"), actor=applicant, now=NOW)
    assert [d.id for d in list_drafts(session, applicant)] == [draft.id]
    app = submit_application(session, form_key="query_registration", data=registration_data(consent=[draft.id]),
                             actor=applicant, now=NOW)
    session.refresh(draft)
    assert draft.application_id == app.id and draft.field == "consent" and draft.human_task_id is None
    assert app.data["consent"] == [draft.id] and list_drafts(session, applicant) == []
    [row] = list_attachments(session, app.id, person("sw_unit_head"), NOW)
    assert (row.file_name, row.media_type, row.size, row.sha256) == (
        "同意書.pdf", "application/pdf", len(data), hashlib.sha256(data).hexdigest())
    [added] = events(session, "attachment_added")
    [bound] = events(session, "attachment_bound")
    assert added.payload["sha256"] == bound.payload["sha256"] == row.sha256
    assert (bound.subject_type, bound.subject_id) == ("application", app.id)


def test_the_required_file_missing_or_not_ones_own_is_named_on_its_field(session, person, consent_form):
    with pytest.raises(Invalid) as missing:
        submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=person("applicant"),
                           now=NOW)
    assert missing.value.errors == {"consent": "「當事人同意書」為必填"}
    others = add_draft(session, upload=Upload(files.png(), "x.png"), actor=person("sw_staff"), now=NOW)
    with pytest.raises(Invalid) as foreign:
        submit_application(session, form_key="query_registration", data=registration_data(consent=others.id),
                           actor=person("applicant"), now=NOW)
    assert str(others.id) in foreign.value.errors["consent"]
    with pytest.raises(Invalid):
        submit_application(session, form_key="query_registration", data=registration_data(consent=["x"]),
                           actor=person("applicant"), now=NOW)
    assert session.scalar(select(Attachment.application_id).where(Attachment.id == others.id)) is None


def test_the_holder_of_the_open_step_attaches_at_it_and_nobody_else_may(session, person):
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                             actor=person("applicant"), now=NOW)
    with pytest.raises(Forbidden):  # the applicant while the chain runs: not theirs to amend
        add_attachment(session, application_id=app.id, upload=Upload(files.png(), "a.png"),
                       actor=person("applicant"), now=NOW)
    with pytest.raises(NotFound):  # another agency's querier does not even see it
        add_attachment(session, application_id=app.id, upload=Upload(files.png(), "a.png"),
                       actor=person("ep_querier"), now=NOW)
    head = person("sw_unit_head")
    a = add_attachment(session, application_id=app.id, upload=Upload(files.jpeg(), "核章.jpg"), actor=head, now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    assert a.human_task_id == task.id
    [row] = list_attachments(session, app.id, head, NOW)
    assert row.step == task.name and row.removable


def test_the_applicant_attaches_while_the_application_is_returned_to_them(session, person):
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                             actor=person("applicant"), now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="return",
                  opinion="請附當事人同意書", now=NOW)
    a = add_attachment(session, application_id=app.id, upload=Upload(files.pdf(), "consent.pdf"),
                       actor=person("applicant"), now=NOW)
    amend_step = session.get(Application, app.id).tasks[-1]
    assert a.human_task_id == amend_step.id and amend_step.role == "applicant"


def test_whoever_sees_the_application_reads_the_file_and_each_read_is_audited(session, person, engine):
    applicant = person("applicant")
    data = files.pdf("consent of 陳小明".encode("ascii", "ignore").decode())
    draft = add_draft(session, upload=Upload(data, "consent.pdf"), actor=applicant, now=NOW)
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=applicant,
                             now=NOW, attachments=[draft.id])
    got = read_attachment(session, attachment_id=draft.id, application_id=app.id, viewer=person("sw_unit_head"),
                          now=NOW)
    assert (got.content, got.media_type, got.file_name) == (data, "application/pdf", "consent.pdf")
    for outsider in ("ep_querier", "sw_staff"):
        with pytest.raises(NotFound):
            read_attachment(session, attachment_id=draft.id, application_id=app.id, viewer=person(outsider), now=NOW)
        with pytest.raises(NotFound):
            list_attachments(session, app.id, person(outsider), NOW)
    with pytest.raises(NotFound):  # the right file under another application's number is no way round
        read_attachment(session, attachment_id=draft.id, application_id=app.id + 1000, viewer=applicant, now=NOW)
    [read] = events(session, "attachment_read")
    assert read.actor_id == person("sw_unit_head").id and read.payload["sha256"] == hashlib.sha256(data).hexdigest()
    # At rest the bytes are sealed: the file is not in the database as it was uploaded.
    with engine.connect() as c:
        stored = bytes(c.execute(text("SELECT content FROM attachment WHERE id = :i"), {"i": draft.id}).scalar())
    assert stored.startswith(b"enc1:") and b"%PDF" not in stored


def test_a_draft_is_its_uploaders_alone(session, person):
    draft = add_draft(session, upload=Upload(files.png(), "a.png"), actor=person("applicant"), now=NOW)
    with pytest.raises(NotFound):
        read_attachment(session, attachment_id=draft.id, application_id=None, viewer=person("sw_unit_head"), now=NOW)
    with pytest.raises(NotFound):
        remove_attachment(session, attachment_id=draft.id, application_id=None, actor=person("sw_unit_head"), now=NOW)
    assert read_attachment(session, attachment_id=draft.id, application_id=None, viewer=person("applicant"),
                           now=NOW).content == files.png()


def test_the_uploader_withdraws_before_the_step_is_decided_never_after(session, person):
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                             actor=person("applicant"), now=NOW)
    head = person("sw_unit_head")
    first = add_attachment(session, application_id=app.id, upload=Upload(files.png(), "a.png"), actor=head, now=NOW)
    second = add_attachment(session, application_id=app.id, upload=Upload(files.jpeg(), "b.jpg"), actor=head, now=NOW)
    with pytest.raises(Forbidden):
        remove_attachment(session, attachment_id=first.id, application_id=app.id, actor=person("manager"), now=NOW)
    removed = remove_attachment(session, attachment_id=first.id, application_id=app.id, actor=head, now=NOW)
    assert removed.removed_at is not None and removed.removed_by_id == head.id
    with pytest.raises(NotFound):  # withdrawn: no longer served
        read_attachment(session, attachment_id=first.id, application_id=app.id, viewer=head, now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=head, decision="approve", now=NOW)
    with pytest.raises(Conflict):
        remove_attachment(session, attachment_id=second.id, application_id=app.id, actor=head, now=NOW)
    rows = {r.id: r for r in list_attachments(session, app.id, head, NOW)}
    assert rows[first.id].removed_at is not None and not rows[second.id].removable
    [gone] = events(session, "attachment_removed")
    assert gone.payload["sha256"] == hashlib.sha256(files.png()).hexdigest()


def test_drafts_never_filed_are_purged_after_a_day_and_filed_ones_stay(session, person):
    applicant = person("applicant")
    old = add_draft(session, upload=Upload(files.png(), "old.png"), actor=applicant, now=NOW - timedelta(days=2))
    new = add_draft(session, upload=Upload(files.png(), "new.png"), actor=applicant, now=NOW - timedelta(hours=2))
    filed = add_draft(session, upload=Upload(files.pdf(), "filed.pdf"), actor=applicant, now=NOW - timedelta(days=2))
    submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=applicant, now=NOW,
                       attachments=[filed.id])
    assert purge_stale_drafts(session, NOW) == 1
    session.expire_all()
    assert session.get(Attachment, old.id) is None
    assert session.get(Attachment, new.id) is not None and session.get(Attachment, filed.id) is not None
    [purged] = events(session, "attachment_drafts_purged")
    assert [a["id"] for a in purged.payload["attachments"]] == [old.id]
    assert purge_stale_drafts(session, NOW) == 0


def test_a_carried_out_destruction_erases_the_files_and_keeps_their_names_and_hashes(session, person, clock):
    old = registration(session, person, clock, "115-社救-0201")
    # The signed consent filed with the registration: a draft bound to it as the submit binds one.
    draft = add_draft(session, upload=Upload(files.pdf("consent"), "consent.pdf"), actor=person("applicant"), now=NOW)
    bind_files(session, old, [draft.id], person("applicant"), NOW)
    session.commit()
    listing = the_list(session, clock)
    decide(session, person, listing, "manager_list", "manager")
    decide(session, person, listing, "agency_head_approval", "sw_head")
    assert destruction.carry_out_destructions(session, LIST_DAY) == [listing.id]
    session.expire_all()
    erased = session.get(Attachment, draft.id)
    assert erased.removed_at is not None and erased.content == b"" and erased.sha256 == hashlib.sha256(
        files.pdf("consent")).hexdigest()
    assert erased.file_name == destruction.TOMBSTONE
    # The trail never held the name: nothing of it outlives the destruction there.
    assert all("consent.pdf" not in str(e.payload) for e in session.scalars(select(AuditEvent)))
    with pytest.raises(NotFound):
        read_attachment(session, attachment_id=draft.id, application_id=old.id, viewer=person("admin"), now=LIST_DAY)
    [event] = events(session, "records_destroyed")
    assert event.payload["attachments"] == 1


@pytest.fixture
def scan_step(monkeypatch):
    """Every review step asks for the signed paper it checked (a pack's step form with an attachment field)."""
    review = forms.STEP_FORMS["review"]
    field = forms.Field("scan", "核章掃描檔", "attachment", required=True, required_when=("decision", ("approve",)))
    monkeypatch.setitem(forms.STEP_FORMS, "review", replace(review, fields=(field,)))


def test_a_step_forms_attachment_field_names_files_attached_at_that_step_by_its_holder(session, person, scan_step):
    applicant, head = person("applicant"), person("sw_unit_head")
    filed = add_draft(session, upload=Upload(files.pdf(), "filed.pdf"), actor=applicant, now=NOW)
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=applicant,
                             now=NOW, attachments=[filed.id])
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    with pytest.raises(Invalid) as missing:
        complete_task(session, task_id=task.id, actor=head, decision="approve", data={}, now=NOW)
    assert missing.value.errors == {"scan": "「核章掃描檔」為必填"}
    with pytest.raises(Invalid) as not_here:  # the applicant's file is not one attached at this step
        complete_task(session, task_id=task.id, actor=head, decision="approve", data={"scan": [filed.id]}, now=NOW)
    assert str(filed.id) in not_here.value.errors["scan"]
    scan = add_attachment(session, application_id=app.id, upload=Upload(files.png(), "scan.png"), actor=head,
                          now=NOW, task_id=task.id)
    complete_task(session, task_id=task.id, actor=head, decision="approve", data={"scan": [scan.id]}, now=NOW)
    assert session.get(Application, app.id).history[-1].data["scan"] == [scan.id]


def test_one_person_holds_a_bounded_number_of_unfiled_drafts(session, person):
    applicant = person("applicant")
    drafts = [add_draft(session, upload=Upload(files.png(), f"{n}.png"), actor=applicant, now=NOW)
              for n in range(MAX_DRAFTS)]
    with pytest.raises(Conflict):
        add_draft(session, upload=Upload(files.png(), "one-more.png"), actor=applicant, now=NOW)
    remove_attachment(session, attachment_id=drafts[0].id, application_id=None, actor=applicant, now=NOW)
    assert add_draft(session, upload=Upload(files.png(), "one-more.png"), actor=applicant, now=NOW).id
    # Another person's drafts are theirs to count.
    assert add_draft(session, upload=Upload(files.png(), "x.png"), actor=person("sw_staff"), now=NOW).id
