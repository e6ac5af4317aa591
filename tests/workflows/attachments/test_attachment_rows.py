"""The attachment lists read as columns in one statement: each row as the files' objects say, and its removable
flag exactly ``may_remove`` for every reader (the rule lives once, in workflows.attachments.records)."""

from __future__ import annotations

from sqlalchemy import select

from models import Attachment, TaskState
from tests import files
from tests.conftest import NOW, REGISTRATION
from tests.statements import shape, statements
from workflows.attachments.reads import application_attachments, list_attachments, list_drafts, own_files
from workflows.attachments.records import Upload, add_attachment, add_draft, may_remove, remove_attachment
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

READERS = ("applicant", "sw_unit_head", "sw_head", "manager", "admin")


def expected(a: Attachment, reader) -> tuple:
    return (a.id, a.file_name, a.media_type, a.size, a.sha256, a.label, a.field,
            a.human_task.name if a.human_task else None, a.uploaded_by.username, a.uploaded_by.name,
            a.uploaded_at, a.removed_at, reader is not None and may_remove(a, reader))


def test_each_listed_row_and_its_removable_flag_are_what_the_objects_and_may_remove_say(session, person, engine):
    applicant, head = person("applicant"), person("sw_unit_head")
    filed = add_draft(session, upload=Upload(files.pdf(), "consent.pdf"), actor=applicant, now=NOW)
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=applicant,
                             now=NOW, attachments=[filed.id])
    at_decided = add_attachment(session, application_id=app.id, upload=Upload(files.png(), "a.png"), actor=head,
                                now=NOW)
    withdrawn = add_attachment(session, application_id=app.id, upload=Upload(files.jpeg(), "b.jpg"), actor=head,
                               now=NOW)
    remove_attachment(session, attachment_id=withdrawn.id, application_id=app.id, actor=head, now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=head, decision="approve", now=NOW)
    other = submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=applicant,
                               now=NOW)
    at_open = add_attachment(session, application_id=other.id, upload=Upload(files.png(), "c.png"), actor=head,
                             now=NOW)
    draft = add_draft(session, upload=Upload(files.png(), "d.png"), actor=applicant, now=NOW)
    stored = {a.id: a for a in session.scalars(select(Attachment))}
    on_app = {app.id: [filed.id, at_decided.id, withdrawn.id], other.id: [at_open.id]}

    flags = {}
    for reader in (*(person(u) for u in READERS), None):
        for application_id, ids in on_app.items():
            rows = application_attachments(session, application_id, reader)
            assert [tuple(vars(r).values()) for r in rows] == [expected(stored[i], reader) for i in ids]
            flags.update({(reader and reader.username, r.id): r.removable for r in rows})
    # Every case of the rule met: only the uploader, and only while the step it was added at is open.
    assert {key: flag for key, flag in flags.items() if flag} == {("sw_unit_head", at_open.id): True}

    [mine] = list_drafts(session, applicant)
    assert tuple(vars(mine).values()) == expected(stored[draft.id], applicant) and mine.removable
    assert [r.id for r in own_files(session, applicant, [draft.id, filed.id])] == sorted([draft.id, filed.id])
    assert list_drafts(session, head) == [] and own_files(session, head, [draft.id]) == []

    with statements(engine) as seen:
        rows = list_attachments(session, app.id, head, NOW)
    assert len(rows) == 3 and [shape(s) for s in seen][-1] == "SELECT attachment"
    assert sum(s.startswith("SELECT") and " attachment" in s for s in seen) == 1  # the list itself: one statement
    assert not any("attachment.content" in s for s in seen)  # the sealed bytes are never read for a list
