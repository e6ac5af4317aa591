"""The 2017 → revised Kaohsiung rules as two versions of the same processes (issue 4's showcase).

000_847d99bbd62f1c61.txt §4(2): a querier account needs the agency head's seal; 001 §5(2) 但書:
the responsible supervisor's approval suffices. And 資訊中心 was renamed 資訊處.
"""

from sqlalchemy import select

from models import Base, DefinitionVersion, ProcessDefinition
from tests.conftest import NOW, QUERIER_ADD, ROOT, granted
from workflows.demo import load_demo
from workflows.editor.deploy import deploy_directory
from workflows.filing.applications import submit_application
from workflows.filing.reads import list_inbox
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import load_diagram

KAOHSIUNG = ROOT / "bpmn" / "kaohsiung"


def decide(session, person, username, **data) -> str:
    [row] = list_inbox(session, person(username))
    complete_task(session, task_id=row.task_id, actor=person(username), decision="approve", data=data, now=NOW)
    return row.step


def versions_of(session, key):
    return session.scalars(select(DefinitionVersion).join(ProcessDefinition)
                           .where(ProcessDefinition.key == key).order_by(DefinitionVersion.version)).all()


def test_a_fresh_city_numbers_the_2017_chains_first(session, engine):
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    load_demo(session, now=NOW, bpmn_dir=KAOHSIUNG)  # with history, as `flask seed-demo` does
    querier = versions_of(session, "querier_account")
    assert [(v.version, v.note) for v in querier] == [(1, "2017 年版規定：history/2017/querier_account.bpmn"),
                                                      (2, "現行規定：querier_account.bpmn")]
    old, new = (load_diagram(v) for v in querier)
    assert "agency_head_review" in old.user_tasks and "agency_head_review" not in new.user_tasks
    manager = [load_diagram(v) for v in versions_of(session, "manager_account")]
    assert manager[0].user_tasks["central_clerk_setup"].name == "資訊中心承辦人設定帳號"
    assert manager[1].user_tasks["central_clerk_setup"].name == "資訊處承辦人設定帳號"
    assert [v.version for v in versions_of(session, "query_registration")] == [1]  # unchanged by the revision


def test_a_2017_application_finishes_on_2017_while_new_ones_take_the_revised_chain(session, engine, person):
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    load_demo(session, now=NOW, bpmn_dir=KAOHSIUNG / "history" / "2017")  # the city before the revision
    old = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    deploy_directory(session, KAOHSIUNG, now=NOW, jurisdiction="kaohsiung")  # the revised rules arrive
    new = submit_application(session, form_key="querier_account", data={**QUERIER_ADD, "name": "許雅婷"},
                             actor=person("labor_clerk"), now=NOW)
    assert (old.definition_version.version, new.definition_version.version) == (1, 2)

    # 2017: unit head, then the agency head's seal, then the agency manager sets the account.
    assert decide(session, person, "sw_unit_head") == "unit_head_review"
    assert decide(session, person, "sw_head") == "agency_head_review"
    assert decide(session, person, "manager", **granted(QUERIER_ADD["items"])) == "agency_manager_setup"
    # Revised: the unit head's approval suffices; the head of the manager's unit seals the setting.
    assert decide(session, person, "labor_chief") == "unit_head_review"
    assert decide(session, person, "labor_manager", **granted(QUERIER_ADD["items"])) == "agency_manager_setup"
    assert decide(session, person, "labor_chief") == "manager_unit_head_seal"
    assert list_inbox(session, person("labor_director")) == []  # the agency head was never asked

    session.expire_all()
    assert [(a.state.value, a.definition_version.version) for a in (old, new)] == [("completed", 1), ("completed", 2)]
    assert [h.step for h in old.history] == ["start", "unit_head_review", "agency_head_review",
                                             "agency_manager_setup"]
    assert [h.step for h in new.history] == ["start", "unit_head_review", "agency_manager_setup",
                                             "manager_unit_head_seal"]
