"""Redrawing a chain: every validation rule, hostile files, versioned deployment, migrating waiting applications."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Application, AuditEvent, DefinitionVersion, DiagramDraft, HumanTask, TaskState
from tests.conftest import NOW, QUERIER_ADD, granted
from tests.engine.test_engine import tripwire
from workflows.editor.deploy import DiagramRefused, deploy_version, validate_diagram
from workflows.editor.drafts import save_draft
from workflows.editor.migration import list_candidates, migrate_application
from workflows.engine import DiagramError
from workflows.engine.checks import SCRIPT_REFUSED
from workflows.errors import Conflict, Forbidden, Invalid
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import latest_version
from workflows.runtime.sync import restore

BPMN_DIR = Path(__file__).resolve().parents[3] / "bpmn" / "kaohsiung"
SHIPPED = sorted(BPMN_DIR.glob("*.bpmn"))
QUERIER = (BPMN_DIR / "querier_account.bpmn").read_text(encoding="utf-8")
JURISDICTION = "kaohsiung"


def problems(xml: str) -> list[tuple[str | None, str]]:
    with pytest.raises(DiagramError) as exc:
        validate_diagram(xml.encode())
    return exc.value.problems


def elements(xml: str) -> set[str | None]:
    return {element for element, _ in problems(xml)}


def replace(xml: str, old: str, new: str, count: int = 1) -> str:
    assert old in xml, old
    return xml.replace(old, new, count)


def drop_flow(xml: str, flow_id: str) -> str:
    """Remove a sequence flow and its drawing."""
    xml, n = re.subn(rf'\s*<bpmn:sequenceFlow id="{flow_id}".*?</bpmn:sequenceFlow>', "", xml, flags=re.S)
    assert n == 1, flow_id
    return re.sub(rf'\s*<bpmndi:BPMNEdge id="{flow_id}_di".*?</bpmndi:BPMNEdge>', "", xml, flags=re.S)


def add_flow(xml: str, flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    body = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            if condition else "")
    flow = f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'
    edge = (f'<bpmndi:BPMNEdge id="{flow_id}_di" bpmnElement="{flow_id}"><di:waypoint x="1" y="1" />'
            f'<di:waypoint x="2" y="2" /></bpmndi:BPMNEdge>')
    return replace(replace(xml, "</bpmn:process>", flow + "</bpmn:process>"), "</bpmndi:BPMNPlane>",
                   edge + "</bpmndi:BPMNPlane>")


def timer_on_review(kind: str, text: str, xml: str = QUERIER) -> str:
    return replace(xml, '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">working_days(reminder_days)</bpmn:timeDate>',
                   f'<bpmn:{kind} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{kind}>')


# ---------------------------------------------------------------- shipped diagrams pass

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_diagram_passes_every_check(path):
    assert validate_diagram(path.read_bytes()).process_id == path.stem


# ---------------------------------------------------------------- each rule refuses what it should

def test_a_process_without_start_or_end_event_is_refused():
    no_start = replace(QUERIER, '<bpmn:startEvent id="start" name="提出申請"></bpmn:startEvent>',
                       '<bpmn:intermediateThrowEvent id="start" name="提出申請"></bpmn:intermediateThrowEvent>')
    assert ("querier_account", "流程沒有開始事件") in problems(no_start)
    no_end = re.sub(r"<bpmn:endEvent (id=\"\w+\" name=\"[^\"]*\")></bpmn:endEvent>",
                    r"<bpmn:intermediateThrowEvent \1></bpmn:intermediateThrowEvent>", QUERIER)
    assert ("querier_account", "流程沒有結束事件") in problems(no_end)


def test_an_element_nothing_leads_to_or_nothing_leaves_is_refused():
    found = problems(drop_flow(QUERIER, "flow_agency_manager_setup_decided"))
    assert ("agency_manager_setup", "沒有任何連線離開這個元素；若流程在此結束，請接到結束事件") in found
    assert ("gw_agency_manager_setup", "沒有任何連線進入這個元素，流程永遠走不到這裡") in found


def test_a_flow_to_a_missing_element_and_a_duplicate_flow_are_refused():
    dangling = add_flow(QUERIER, "flow_nowhere", "gw_amend", "ghost", 'decision == "x"')
    assert "flow_nowhere" in elements(dangling)
    twice = add_flow(QUERIER, "flow_start_again", "start", "unit_head_review")
    assert ("flow_start_again", "重複的連線：相同起點、終點與條件的連線已存在") in problems(twice)


def test_an_exclusive_gateway_needs_a_condition_on_each_branch_or_a_default():
    no_default = replace(QUERIER, ' default="flow_unit_head_review_reject"', "")
    assert any(element == "gw_unit_head_review" and "flow_unit_head_review_reject" in message and "預設路徑" in message
               for element, message in problems(no_default))

    two_bare = re.sub(r'(<bpmn:sequenceFlow id="flow_unit_head_review_return"[^>]*>)<bpmn:conditionExpression[^<]*'
                      r"</bpmn:conditionExpression>", r"\1", no_default)
    assert {"flow_unit_head_review_return", "flow_unit_head_review_reject"} <= elements(two_bare)

    wrong_default = replace(QUERIER, 'default="flow_unit_head_review_reject"', 'default="flow_withdraw"')
    assert ("gw_unit_head_review", "預設路徑不是從這個閘道出去的連線") in problems(wrong_default)


def test_an_implicit_split_and_a_gateway_that_joins_and_forks_are_refused():
    split = add_flow(QUERIER, "flow_extra", "unit_head_review", "end_rejected")
    assert ("unit_head_review", "有多條沒有條件的連線離開這個元素（隱含分流）；請改用閘道") in problems(split)
    join_fork = add_flow(QUERIER, "flow_join", "start", "gw_unit_head_review")
    assert ("gw_unit_head_review", "閘道不可同時匯流與分流；請拆成兩個閘道") in problems(join_fork)


def test_a_user_task_must_be_in_a_known_role_lane():
    unknown = replace(QUERIER, '<bpmn:lane id="lane_unit_head" name="unit_head">',
                      '<bpmn:lane id="lane_unit_head" name="boss">')
    assert any(e == "unit_head_review" and "boss" in m for e, m in problems(unknown))
    unnamed = replace(QUERIER, '<bpmn:lane id="lane_unit_head" name="unit_head">', '<bpmn:lane id="lane_unit_head">')
    assert ("unit_head_review", "使用者工作不在任何已命名的泳道中，系統無法決定由誰辦理") in problems(unnamed)


def test_a_user_task_must_name_a_known_form():
    unknown = replace(QUERIER, '<spiffworkflow:property name="form" value="account_setup" />',
                      '<spiffworkflow:property name="form" value="free_text" />')
    assert any(e == "agency_manager_setup" and "free_text" in m for e, m in problems(unknown))
    missing = replace(QUERIER, '<spiffworkflow:property name="form" value="account_setup" />', "")
    assert ("agency_manager_setup", "使用者工作沒有指定表單（form 屬性）") in problems(missing)


@pytest.mark.parametrize("tag", ["scriptTask", "serviceTask", "businessRuleTask", "sendTask"])
def test_tasks_that_would_run_code_are_refused(tag):
    xml = re.sub(r'<bpmn:userTask id="agency_manager_setup"(.*?)</bpmn:userTask>',
                 rf'<bpmn:{tag} id="agency_manager_setup"\1</bpmn:{tag}>', QUERIER, flags=re.S)
    assert "agency_manager_setup" in elements(xml)
    if tag == "scriptTask":
        assert ("agency_manager_setup", SCRIPT_REFUSED) in problems(xml)


@pytest.mark.parametrize("kind,text", [
    ("timeDuration", '"P3D"'), ("timeDuration", '"PT12H"'), ("timeDuration", '"P1W"'), ("timeCycle", '"R3/P1D"'),
    ("timeDate", '"2026-12-31T17:00:00+08:00"'), ("timeDate", "working_days(3)"),
    ("timeDate", "working_days(reminder_days)"),
])
def test_valid_timers_are_accepted(kind, text):
    validate_diagram(timer_on_review(kind, text).encode())


@pytest.mark.parametrize("kind,text,words", [
    ("timeDuration", "P3D", '須加上引號，例如 "P3D"'),
    ("timeDuration", '"P3X"', "不是有效的 ISO-8601"),
    ("timeDuration", '"P"', "不是有效的 ISO-8601"),
    ("timeDuration", "3", "須為 ISO-8601 文字"),
    ("timeCycle", '"R3/soon"', "不是有效的 ISO-8601"),
    ("timeDate", '"2026-12-31T17:00:00"', "須註明時區"),
    ("timeDate", '"tomorrow"', "不是有效的 ISO-8601"),
    ("timeDate", '__import__("os").getpid()', "不被允許"),
    ("timeDate", "", "沒有設定值"),
])
def test_invalid_timers_are_refused_with_a_reason(kind, text, words):
    found = problems(timer_on_review(kind, text))
    assert any(e == "remind_unit_head_review" and words in m for e, m in found), found


def test_a_timer_without_a_type_is_refused():
    xml = replace(QUERIER, '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">working_days(reminder_days)'
                  "</bpmn:timeDate>", "")
    assert ("remind_unit_head_review", "計時器須設定一個類型（日期、期間或循環）與其值") in problems(xml)


def with_condition(expression: str) -> str:
    escaped = expression.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    prefix = 'targetRef="agency_manager_setup"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
    return replace(QUERIER, prefix + 'decision == "approve"', prefix + escaped)


@pytest.mark.parametrize("expression", ['__import__("os").system("id") == 0', "().__class__.__bases__[0]",
                                        'open("/etc/passwd").read()', "[x for x in items]"])
def test_an_expression_outside_the_allow_list_is_refused_with_a_reason(tmp_path, expression):
    found = problems(with_condition(expression))
    [(element, message)] = found
    assert element == "flow_unit_head_review_approve" and "不被允許" in message and expression in message


def test_every_element_must_be_drawn():
    xml = re.sub(r'\s*<bpmndi:BPMNShape id="agency_manager_setup_di".*?</bpmndi:BPMNShape>', "", QUERIER, flags=re.S)
    assert ("agency_manager_setup", "圖上沒有畫出這個元素（缺少圖形資訊）") in problems(xml)


def test_an_unknown_process_id_is_reported_with_other_problems():
    xml = QUERIER.replace('"querier_account"', '"coffee_order"')
    xml = replace(xml, '<spiffworkflow:property name="form" value="review" />', "")
    assert {"coffee_order", "unit_head_review"} <= elements(xml)


def test_a_boundary_event_must_sit_on_a_task():
    xml = replace(QUERIER, 'attachedToRef="unit_head_review"', 'attachedToRef="nowhere"')
    assert ("remind_unit_head_review", "邊界事件須附在同一流程中的工作上") in problems(xml)


def test_what_spiffworkflow_refuses_is_reported_too():
    assert (None, "圖中沒有可執行的流程（bpmn:process 須設 isExecutable）") in problems(
        replace(QUERIER, 'isExecutable="true"', 'isExecutable="false"'))


def test_events_the_app_cannot_deliver_and_loops_are_refused():
    message = replace(QUERIER, '<bpmn:endEvent id="end_withdrawn" name="撤回"></bpmn:endEvent>',
                      '<bpmn:endEvent id="end_withdrawn" name="撤回"><bpmn:messageEventDefinition /></bpmn:endEvent>')
    assert any(e == "end_withdrawn" and "messageEventDefinition" in m for e, m in problems(message))
    loop = replace(QUERIER, '<bpmn:userTask id="amend" name="申請人補正或撤回">',
                   '<bpmn:userTask id="amend" name="申請人補正或撤回"><bpmn:multiInstanceLoopCharacteristics>'
                   '<bpmn:loopCardinality>__import__("os")</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
    found = problems(loop)
    assert ("amend", "不支援多執行個體或迴圈工作：每個步驟只由一個人辦理一次") in found
    assert any(e == "amend" and "__import__" in m and "不被允許" in m for e, m in found)


# ---------------------------------------------------------------- hostile files

def test_an_external_entity_is_refused_with_a_reason_and_never_read(tmp_path):
    with tripwire(tmp_path) as (fifo, flag):
        xml = QUERIER.replace('<?xml version="1.0" encoding="UTF-8"?>',
                              f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{fifo}">]>')
        found = problems(xml.replace("<bpmn:documentation>", "<bpmn:documentation>&x;", 1))
        time.sleep(0.05)
        assert not flag.exists()
    assert found == [(None, "流程圖不可含 DOCTYPE 宣告（不接受 DTD 與實體）")]


def test_a_billion_laughs_is_refused_without_being_expanded(lxml_spy):
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    body = QUERIER.split("?>", 1)[1].replace("<bpmn:documentation>", "<bpmn:documentation>&j;", 1)
    xml = f"<!DOCTYPE d [{entities}]>{body}"
    [(element, reason)] = problems(xml)
    assert element is None and reason  # lxml stops the amplification, or the DOCTYPE rule does
    assert lxml_spy.parsed and all(size <= len(xml.encode()) for size in lxml_spy.built), "an entity was expanded"


def test_a_fifty_megabyte_file_is_refused_before_parsing(lxml_spy):
    found = problems(QUERIER + " " * (50 * 1024 * 1024))
    assert lxml_spy.parsed == [], "the oversized file reached the XML parser"
    assert "流程圖超過" in found[0][1]
    validate_diagram(QUERIER.encode())
    assert lxml_spy.parsed, "the spy does not see the parser"


# ---------------------------------------------------------------- deploy

def renamed(xml: str = QUERIER, name: str = "單位主管審核") -> bytes:
    return replace(xml, 'name="單位主管核准"', f'name="{name}"').encode()


def test_deploy_creates_the_next_version_with_author_time_and_note(session, person):
    admin = person("admin")
    before = latest_version(session, "querier_account").version
    deployment = deploy_version(session, renamed(), key="querier_account", actor=admin, now=NOW,
                                note="單位主管步驟改名", jurisdiction=JURISDICTION)
    version = deployment.version
    assert deployment.created and version.version == before + 1
    assert (version.created_by_id, version.created_at, version.note) == (admin.id, NOW, "單位主管步驟改名")
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "definition_deployed",
                                                    AuditEvent.subject_id == version.id))
    assert event.actor_id == admin.id and event.payload["version"] == before + 1
    assert event.payload["note"] == "單位主管步驟改名"


def test_deploy_is_idempotent_per_content(session, person):
    admin = person("admin")
    first = deploy_version(session, renamed(), key="querier_account", actor=admin, now=NOW, note="一",
                           jurisdiction=JURISDICTION)
    again = deploy_version(session, renamed(), key="querier_account", actor=admin, now=NOW, note="二",
                           jurisdiction=JURISDICTION)
    assert (again.created, again.version.id) == (False, first.version.id)
    shipped = deploy_version(session, QUERIER.encode(), key="querier_account", actor=admin, now=NOW, note="三",
                             jurisdiction=JURISDICTION)
    assert (shipped.created, shipped.version.version) == (False, 1)
    count = session.scalar(select(func.count()).select_from(DefinitionVersion)
                           .where(DefinitionVersion.sha256 == first.version.sha256))
    assert count == 1


def test_deploy_refuses_non_admins_bad_diagrams_wrong_keys_and_missing_notes(session, person):
    with pytest.raises(Forbidden):
        deploy_version(session, renamed(), key="querier_account", actor=person("manager"), now=NOW, note="x",
                       jurisdiction=JURISDICTION)
    admin = person("admin")
    with pytest.raises(Invalid):
        deploy_version(session, renamed(), key="querier_account", actor=admin, now=NOW, note=" ",
                       jurisdiction=JURISDICTION)
    with pytest.raises(DiagramRefused) as exc:
        deploy_version(session, renamed(), key="manager_account", actor=admin, now=NOW, note="x",
                       jurisdiction=JURISDICTION)
    assert exc.value.problems == [("querier_account", "流程代碼須為「manager_account」，這張圖是「querier_account」")]
    with pytest.raises(DiagramRefused) as exc:
        deploy_version(session, with_condition("().__class__").encode(), key="querier_account", actor=admin,
                       now=NOW, note="x", jurisdiction=JURISDICTION)
    assert exc.value.problems[0][0] == "flow_unit_head_review_approve"
    assert latest_version(session, "querier_account").version == 1


def test_deploy_never_touches_running_applications(session, person):
    app = file_querier(session, person)
    state, version_id = app.workflow_state, app.definition_version_id
    deploy_version(session, renamed(), key="querier_account", actor=person("admin"), now=NOW, note="改名",
                   jurisdiction=JURISDICTION)
    session.expire_all()
    app = session.get(Application, app.id)
    assert (app.workflow_state, app.definition_version_id) == (state, version_id)
    assert app.tasks[0].name == "單位主管核准"


def test_a_deploy_discards_the_authors_draft(session, person):
    admin = person("admin")
    save_draft(session, key="querier_account", xml=renamed(), base_version=1, note="草稿", actor=admin, now=NOW)
    assert session.scalar(select(func.count()).select_from(DiagramDraft)) == 1
    deploy_version(session, renamed(), key="querier_account", actor=admin, now=NOW, note="改名",
                   jurisdiction=JURISDICTION)
    assert session.scalar(select(func.count()).select_from(DiagramDraft)) == 0


def test_a_draft_must_be_safe_xml_but_need_not_pass_the_checks(session, person):
    admin = person("admin")
    draft = save_draft(session, key="querier_account", xml=b"<bpmn:definitions xmlns:bpmn='x'/>", base_version=None,
                       note=None, actor=admin, now=NOW)
    assert draft.id
    with pytest.raises(DiagramRefused):
        save_draft(session, key="querier_account", xml=b'<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>',
                   base_version=None, note=None, actor=admin, now=NOW)
    with pytest.raises(Forbidden):
        save_draft(session, key="querier_account", xml=renamed(), base_version=None, note=None,
                   actor=person("manager"), now=NOW)


# ---------------------------------------------------------------- migration

def file_querier(session, person):
    return submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                              now=NOW)


def deploy_xml(session, person, xml: bytes, note: str = "新版") -> int:
    return deploy_version(session, xml, key="querier_account", actor=person("admin"), now=NOW, note=note,
                          jurisdiction=JURISDICTION).version.version


def open_task(app: Application) -> HumanTask:
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    return task


def decide(session, person, app: Application, username: str, **data):
    return complete_task(session, task_id=open_task(app).id, actor=person(username), decision="approve",
                         data=data, now=NOW)


def test_migration_moves_a_waiting_application_and_it_then_completes(session, person):
    app = file_querier(session, person)
    row_id, guid = open_task(app).id, open_task(app).task_guid
    new = deploy_xml(session, person, renamed(with_condition('decision in ("approve",)')))
    [candidate] = list_candidates(session, key="querier_account", from_version=1, to_version=new,
                                  actor=person("admin"))
    assert candidate.movable and candidate.application_id == app.id

    migrate_application(session, application_id=app.id, to_version=new, actor=person("admin"), now=NOW)
    session.expire_all()
    app = session.get(Application, app.id)
    assert app.definition_version.version == new
    task = open_task(app)
    assert (task.id, task.step, task.name) == (row_id, "unit_head_review", "單位主管審核")
    # The engine may give the re-predicted task a new id; the inbox row follows it by step.
    assert task.task_guid in (guid, *[t.guid for t in restore(app).ready_tasks()])
    assert [t.guid for t in restore(app).ready_tasks()] == [task.task_guid]
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "application_migrated"))
    assert (event.subject_id, event.payload["from_version"], event.payload["to_version"]) == (app.id, 1, new)

    decide(session, person, app, "sw_unit_head")
    decide(session, person, app, "manager", **granted(QUERIER_ADD["items"]))
    app = decide(session, person, app, "sw_it_head")
    assert app.state.value == "completed" and app.definition_version.version == new


def test_migration_is_refused_when_the_current_step_is_gone(session, person):
    app = file_querier(session, person)
    state = app.workflow_state
    new = deploy_xml(session, person, QUERIER.replace("unit_head_review", "unit_review").encode(), "改代碼")
    [candidate] = list_candidates(session, key="querier_account", from_version=1, to_version=new,
                                  actor=person("admin"))
    assert not candidate.movable and "單位主管核准" in candidate.reason
    with pytest.raises(Conflict, match="目前步驟「單位主管核准」（unit_head_review）在第 2 版中已不存在"):
        migrate_application(session, application_id=app.id, to_version=new, actor=person("admin"), now=NOW)
    session.expire_all()
    app = session.get(Application, app.id)
    assert (app.definition_version.version, app.workflow_state) == (1, state)
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type == "application_migrated")) == 0


def test_migration_is_refused_when_a_step_already_taken_is_gone(session, person):
    app = decide(session, person, file_querier(session, person), "sw_unit_head")
    assert open_task(app).step == "agency_manager_setup"
    new = deploy_xml(session, person, QUERIER.replace("unit_head_review", "unit_review").encode(), "改代碼")
    with pytest.raises(Conflict, match="已走過的步驟在目標版本中已刪除"):
        migrate_application(session, application_id=app.id, to_version=new, actor=person("admin"), now=NOW)
    session.expire_all()
    assert session.get(Application, app.id).definition_version.version == 1


def test_migration_is_refused_for_closed_applications_the_same_version_and_non_admins(session, person):
    app = file_querier(session, person)
    new = deploy_xml(session, person, renamed())
    with pytest.raises(Forbidden):
        migrate_application(session, application_id=app.id, to_version=new, actor=person("manager"), now=NOW)
    with pytest.raises(Conflict, match="已在第 1 版"):
        migrate_application(session, application_id=app.id, to_version=1, actor=person("admin"), now=NOW)
    complete_task(session, task_id=open_task(app).id, actor=person("sw_unit_head"), decision="reject",
                  opinion="不符", now=NOW)
    with pytest.raises(Conflict, match="已結案"):
        migrate_application(session, application_id=app.id, to_version=new, actor=person("admin"), now=NOW)


def test_an_application_left_on_the_old_version_completes_there(session, person):
    app = file_querier(session, person)
    deploy_xml(session, person, renamed(with_condition('decision == "approve" and False')))
    decide(session, person, app, "sw_unit_head")
    decide(session, person, app, "manager", **granted(QUERIER_ADD["items"]))
    app = decide(session, person, app, "sw_it_head")
    assert app.state.value == "completed" and app.definition_version.version == 1


def test_a_start_over_unchanged_diagrams_keeps_their_versions_and_checks_none_again(session, monkeypatch):
    from workflows.editor import deploy as deploying

    before = {v.id for v in session.scalars(select(DefinitionVersion))}
    checked = []
    monkeypatch.setattr(deploying, "validate_diagram", lambda xml: checked.append(xml))  # would fail _store
    versions = deploying.deploy_directory(session, BPMN_DIR, now=NOW, jurisdiction="kaohsiung",
                                          include_history=False)
    assert {v.id for v in versions} == before and checked == []
