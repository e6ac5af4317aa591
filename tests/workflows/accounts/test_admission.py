"""Admitting a requesting agency (000 §2(3), 001 §2(3)); 勞保局's suspension and the re-admission (001 §12(6)(7)).

Walked as the demo people: 勞工局's clerk, section head and director admit; 勞保局's liaison records a suspension,
勞工局 registers it; a suspended agency files no queries or accounts until it is admitted again with proof.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import Agency, Application, LegalBasis, Notification
from tests.conftest import NOW, REGISTRATION, make_person, registration
from workflows import settings
from workflows.errors import Forbidden, Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

AUTHORITY = ["labor_clerk", "labor_chief", "labor_director"]
ADMIT = {"request_type": "admit", "legal_bases": "文化資產保存法第十二條；\n志願服務法第十六條、第十七條",
         "purposes": "辦理文化志工保險資格審查"}
SUSPEND = {"agency_code": "KHH-EP", "measure": "suspend", "effective_date": "2026-11-25",
           "bureau_letter_no": "保費資字第11511000001號", "reason": "未依限期改善查詢紀錄抽查缺失"}
READMIT = {"request_type": "readmit", "legal_bases": "空氣污染防制法第三十二條", "purposes": "辦理環保違規稽查業務",
           "improvement_evidence": "已完成每月抽查並補送查核紀錄（附件）"}
# 環保局's queriers register under a basis of its own table (001 附表), not 社會局's 社會救助法.
EP_REGISTRATION = registration(legal_basis="空氣污染防制法第三十二條及第六十七條")


@pytest.fixture
def file(session, person):
    def _file(username, form_key, data, now=NOW):
        return submit_application(session, form_key=form_key, data=dict(data), actor=person(username), now=now)
    return _file


@pytest.fixture
def decide(session, person):
    def _decide(username, app, decision="approve", opinion="同意"):
        actor = person(username)
        row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
        return complete_task(session, task_id=row.task_id, actor=actor, decision=decision, opinion=opinion, data={},
                             now=NOW + timedelta(minutes=1))
    return _decide


def agency(session, code):
    session.expire_all()
    return session.scalar(select(Agency).where(Agency.code == code))


@pytest.fixture
def culture(session):
    """文化局: an agency in the organisation that 勞工局 has not admitted yet, with its head."""
    session.add(Agency(code="KHH-CB", name="高雄市政府文化局", kinds={"requesting"}, city="kaohsiung"))
    session.flush()
    make_person(session, "cb_head", agency="KHH-CB", name="文化局長", roles=("agency_head",))
    session.commit()


def test_labour_bureau_admits_an_agency_with_its_legal_bases_and_purposes(session, file, decide, culture):
    app = file("cb_head", "agency_admission", ADMIT)
    for username in AUTHORITY:
        app = decide(username, app)
    assert app.state == "completed"
    admitted = agency(session, "KHH-CB")
    assert (admitted.admitted_on, admitted.purposes) == (date(2026, 11, 25), "辦理文化志工保險資格審查")
    # Its legal bases are its legal-basis table's rows (one source), each statute of the admission one row.
    table = session.execute(select(LegalBasis.statute, LegalBasis.purpose, LegalBasis.application_id,
                                   LegalBasis.active).where(LegalBasis.agency_id == admitted.id)
                            .order_by(LegalBasis.id)).all()
    assert table == [("文化資產保存法第十二條", "辦理文化志工保險資格審查", app.id, True),
                     ("志願服務法第十六條、第十七條", "辦理文化志工保險資格審查", app.id, True)]
    with pytest.raises(Invalid) as again:
        file("cb_head", "agency_admission", ADMIT)
    assert again.value.errors == {"request_type": "本機關已於 2026-11-25 經勞工局同意使用勞保 WebIR"}


def test_a_refused_admission_leaves_the_agency_unadmitted(session, file, decide, culture):
    app = decide("labor_clerk", file("cb_head", "agency_admission", ADMIT), "reject", "法律依據與查調項目無關")
    assert app.state == "rejected" and agency(session, "KHH-CB").admitted_on is None


def test_only_an_agency_head_applies_and_only_a_suspended_agency_applies_again(file):
    with pytest.raises(Forbidden):
        file("ep_manager", "agency_admission", READMIT)
    with pytest.raises(Invalid) as refused:
        file("ep_head", "agency_admission", READMIT)
    assert refused.value.errors == {"request_type": "本機關未經勞保局暫停或終止，無需重新申請"}


def test_a_suspended_agency_files_no_queries_or_accounts_until_admitted_again(session, person, file, decide):
    suspension = decide("labor_clerk", file("bli_liaison", "agency_suspension", SUSPEND))
    assert suspension.state == "completed"
    suspended = agency(session, "KHH-EP")
    assert suspended.suspended_on == date(2026, 11, 25) and "未依限期改善" in suspended.suspension_reason
    told = {n.person.username for n in session.scalars(select(Notification).where(Notification.kind == "suspension"))}
    assert told == {"ep_head", "ep_manager"}
    with pytest.raises(Forbidden) as refused:
        file("ep_querier", "query_registration", EP_REGISTRATION)
    assert "001 第十二點第六款" in str(refused.value)
    with pytest.raises(Forbidden):
        file("ep_manager", "query_items_change", {"name": "江佳穎", "phone": "07-3368321",
                                                  "email": "ep@demo.kcg.gov.tw", "client_ip": "10.1.1.1",
                                                  "add_items": ["C0201"], "legal_basis": "空氣污染防制法"})
    # Other agencies go on; a second suspension of the same agency is refused.
    assert file("applicant", "query_registration", REGISTRATION).state == "running"
    with pytest.raises(Invalid) as twice:
        file("bli_liaison", "agency_suspension", SUSPEND)
    assert set(twice.value.errors) == {"agency_code"}
    # After improving, the head applies again with proof; 勞工局 admits it and queries run again.
    with pytest.raises(Invalid) as no_proof:
        file("ep_head", "agency_admission", {**READMIT, "improvement_evidence": ""})
    assert set(no_proof.value.errors) == {"improvement_evidence"}
    app = file("ep_head", "agency_admission", READMIT)
    for username in AUTHORITY:
        app = decide(username, app)
    assert app.state == "completed"
    readmitted = agency(session, "KHH-EP")
    assert readmitted.suspended_on is None and readmitted.suspension_reason is None
    assert file("ep_querier", "query_registration", EP_REGISTRATION).state == "running"


def test_the_api_refuses_a_suspended_agencys_query_with_the_clause(api, file, decide):
    decide("labor_clerk", file("bli_liaison", "agency_suspension", SUSPEND))
    response = api.as_("ep_querier").post("/api/v1/applications",
                                          {"form": "query_registration", "data": EP_REGISTRATION})
    assert response.status_code == 403 and "001 第十二點第六款" in response.get_json()["detail"]


def test_the_api_refuses_an_agency_never_admitted_with_the_clause_until_the_labour_bureau_admits_it(
        api, session, decide):
    """001 第二點第三款: only an agency 勞工局 agreed may use WebIR files queries, accounts and item changes."""
    ep = agency(session, "KHH-EP")
    ep.admitted_on = None
    session.commit()
    filings = {"ep_querier": ("query_registration", EP_REGISTRATION),
               "ep_manager": ("query_items_change", {"request_type": "change", "add_items": ["C0201"],
                                                     "legal_basis": "空氣污染防制法第三十二條", "reason": "稽查需要"})}
    for username, (form_key, data) in filings.items():
        response = api.as_(username).post("/api/v1/applications", {"form": form_key, "data": data})
        assert response.status_code == 403, response.get_json()
        assert "001 第二點第三款" in response.get_json()["detail"]
    # The agency head's application for admission is what opens the rest.
    head = api.as_("ep_head")
    response = head.post("/api/v1/applications", {"form": "agency_admission", "data": {
        "request_type": "admit", "legal_bases": "空氣污染防制法第三十二條及第六十七條",
        "purposes": "辦理環保違規稽查業務"}})
    assert response.status_code == 201, response.get_json()
    app = session.get(Application, response.get_json()["id"])
    for username in AUTHORITY:
        app = decide(username, app)
    assert app.state == "completed" and agency(session, "KHH-EP").admitted_on is not None
    response = api.as_("ep_querier").post("/api/v1/applications",
                                          {"form": "query_registration", "data": EP_REGISTRATION})
    assert response.status_code == 201, response.get_json()


def test_a_city_whose_rules_set_no_admission_bar_lets_an_agency_never_admitted_file(session, file):
    before = settings.SETTINGS.admission_rule
    agency(session, "KHH-EP").admitted_on = None
    session.commit()
    with pytest.raises(Forbidden):
        file("ep_querier", "query_registration", EP_REGISTRATION)
    settings.configure(admission_rule=None)
    try:
        assert file("ep_querier", "query_registration", EP_REGISTRATION).state == "running"
    finally:
        settings.configure(admission_rule=before)
