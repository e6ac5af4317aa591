"""資訊處's own yearly audit of the WebIR accounts (001 §3(1)3), started by its schedule and walked as its people.

The clerk's step lists every active account of every agency of the city from the records; each is kept or marked
for removal with its reason; the section head approves. A marked account is a finding of the audit: the account
itself changes only through its own deletion path.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import AccountStatus, Agency, HumanTask, Person, WebirAccount
from tests.duties import approve, started
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.tasks import step_fields

WHEN = datetime(2027, 4, 1, 1, 0, tzinfo=UTC)


def test_the_information_department_marks_every_agencys_accounts_and_its_section_head_approves(session, person):
    audits = started(session, "central_account_audit", WHEN)
    assert set(audits) == {"KHH-IT"}  # one audit, the central manager's own
    audit = audits["KHH-IT"]
    accounts = session.execute(select(WebirAccount.id, Person.username).join(Person).join(
        Agency, Agency.id == WebirAccount.agency_id).where(Agency.city == "kaohsiung",
                                                            WebirAccount.status == AccountStatus.ACTIVE)).all()
    assert {"applicant", "ep_querier", "manager"} <= {u for _, u in accounts}  # several agencies, both kinds
    clerk = person("it_clerk")
    row = next(r for r in reads.list_inbox(session, clerk) if r.application_id == audit.id)
    asked = step_fields(session, audit, session.get(HumanTask, row.task_id), WHEN)
    assert {f.name for f in asked.fields if f.name.endswith("_mark")} == {f"account_{i}_mark" for i, _ in accounts}
    marks = {f"account_{i}_mark": "keep" for i, _ in accounts}
    gone = next(i for i, u in accounts if u == "applicant")
    marks[f"account_{gone}_mark"] = "remove"
    with pytest.raises(Invalid) as refused:  # a removal names its reason
        approve(session, clerk, audit, "clerk_audit", WHEN, **marks, findings="逐一核對各機關帳號")
    assert set(refused.value.errors) == {f"account_{gone}_reason"}
    audit = approve(session, clerk, audit, "clerk_audit", WHEN, **marks, findings="逐一核對各機關帳號",
                    **{f"account_{gone}_reason": "已調離社會救助科，帳號應刪除"})
    audit = approve(session, person("it_chief"), audit, "section_head_approval", WHEN)
    assert audit.state == "completed"
    record = audit.history[0].data
    assert record["accounts_to_remove"] == 1 and len(record["account_marks"]) == len(accounts)
    [finding] = [m for m in record["account_marks"] if m["mark"] == "remove"]
    assert (finding["username"], finding["agency"], finding["reason"]) == (
        "applicant", "高雄市政府社會局", "已調離社會救助科，帳號應刪除")
    # A finding only: the account goes through its own deletion path, not this audit.
    assert session.get(WebirAccount, gone).status == AccountStatus.ACTIVE
