"""The engine wrapper on its own: parsing, checking, expressions, hostile XML and saved state. No database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from workflows.editor.deploy import KNOWN_ROLES, check_diagram
from workflows.engine import (
    DiagramError,
    EngineError,
    ExpressionError,
    Run,
    StaleTask,
    TimerInfo,
    check_expression,
    parse_diagram,
)
from workflows.engine.checks import SCRIPT_REFUSED
from workflows.engine.diagrams import MAX_DIAGRAM_BYTES
from workflows.engine.expressions import HELPERS, SCRIPT_ENGINE
from workflows.errors import Conflict
from workflows.forms import STEP_FORMS

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung"
SHIPPED = sorted(BPMN_DIR.glob("*.bpmn"))
QUERIER = (BPMN_DIR / "querier_account.bpmn").read_text(encoding="utf-8")

TIMERS = {"reminder_days": 3, "escalation_days": 5}  # what the diagrams' boundary timers read


@pytest.fixture(autouse=True)
def fresh_db():
    """Overrides the database fixture of tests/conftest.py: these tests need no database."""
    yield


def user_task(step: str, xml: str = QUERIER) -> str:
    match = re.search(rf'<bpmn:userTask id="{step}".*?</bpmn:userTask>', xml, re.S)
    assert match, step
    return match.group(0)


def with_condition(flow_id: str, expression: str, xml: str = QUERIER) -> str:
    pattern = rf'(<bpmn:sequenceFlow id="{flow_id}"[^>]*>\s*<bpmn:conditionExpression[^>]*>)[^<]*(<)'
    changed, n = re.subn(pattern, lambda m: m.group(1) + expression.replace("&", "&amp;").replace("<", "&lt;")
                         .replace('"', "&quot;") + m.group(2), xml)
    assert n == 1, flow_id
    return changed


def problems_of(xml: str) -> list[tuple[str | None, str]]:
    with pytest.raises(DiagramError) as exc:
        check_diagram(parse_diagram(xml.encode()))
    return exc.value.problems


# ---------------------------------------------------------------- shipped diagrams

EXPECTED_STEPS = {
    "querier_account": {"amend": "amend", "unit_head_review": "review", "agency_manager_setup": "account_setup",
                        "manager_unit_head_seal": "account_seal"},
    "manager_account": {
        "amend": "amend", "unit_head_review": "review", "agency_head_review": "review",
        "authority_clerk_review": "review", "authority_section_head_review": "review",
        "authority_director_review": "review", "central_clerk_setup": "account_setup",
        "central_section_head_review": "review", "central_director_review": "review"},
    "query_items_change": {
        "amend": "amend", "unit_head_review": "review", "agency_head_review": "review",
        "authority_clerk_review": "item_review", "authority_section_head_review": "review",
        "authority_director_review": "review", "central_clerk_set": "set_items",
        "central_section_head_seal": "acknowledge", "central_director_seal": "acknowledge",
        "bureau_answer": "bureau_answer", "central_clerk_apply": "apply_items",
        "central_section_head_result_seal": "acknowledge", "central_director_result_seal": "acknowledge"},
    "query_registration": {"amend": "amend", "unit_head_review": "review"},
    "account_review": {"manager_review": "account_review", "agency_head_ack": "acknowledge"},
    "usage_check": {"manager_check": "usage_check", "head_review": "acknowledge", "authority_file": "acknowledge"},
    "monthly_sampling": {"auditor_sample": "sampling"},
    "agency_audit": {"authority_audit": "agency_audit", "central_audit": "agency_audit_central",
                     "authority_section_head_ack": "acknowledge", "agency_correction": "audit_correction"},
    "security_self_audit": {"manager_self_audit": "self_audit", "central_self_audit": "self_audit",
                            "head_approval": "acknowledge"},
    "items_review": {"central_review": "items_review", "central_section_head_ack": "acknowledge",
                     "bureau_termination": "bureau_termination", "central_clerk_apply": "apply_items"},
    "agency_admission": {"amend": "amend", "authority_clerk_review": "review",
                         "authority_section_head_review": "review", "authority_director_review": "review"},
    "agency_suspension": {"authority_record": "acknowledge"},
    "data_incident": {"bureau_notified": "acknowledge", "manager_investigation": "incident_investigation",
                      "agency_head_ack": "acknowledge", "bureau_report": "acknowledge"},
    "role_transfer": {"transfer_account": "transfer_account", "notify_bureau": "bureau_notice"},
    "violation": {"correct": "violation_correction", "report": "violation_report", "authority_file": "acknowledge"},
    "sampling_report": {"manager_send": "sampling_report", "authority_file": "acknowledge"},
    "joint_audit": {"auditor_audit": "joint_audit", "it_review": "joint_audit_it",
                    "auditor_report": "joint_audit_report", "agency_head_ack": "acknowledge"},
    "data_deletion": {"confirm_deletion": "deletion_proof"},
    "destruction": {"manager_list": "destruction_list", "agency_head_approval": "destruction_approval"},
    "log_comparison": {"head_review": "comparison_review"},  # 000 §6(1)
    "central_account_audit": {"clerk_audit": "central_account_audit",  # 001 §3(1)3
                              "section_head_approval": "central_audit_approval"},
}


def test_every_chain_and_duty_diagram_is_shipped():
    assert sorted(p.stem for p in SHIPPED) == sorted(EXPECTED_STEPS)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_diagram_parses_and_passes_the_check(path):
    diagram = parse_diagram(path.read_bytes())
    check_diagram(diagram)  # raises on any problem

    assert diagram.process_id == path.stem
    assert {s: t.form for s, t in diagram.user_tasks.items()} == EXPECTED_STEPS[path.stem]
    assert all(t.lane in KNOWN_ROLES and t.form in STEP_FORMS for t in diagram.user_tasks.values())
    assert diagram.script_elements == []
    if "amend" in diagram.user_tasks:  # a filed form: the applicant amends, gateways route decisions
        assert diagram.user_tasks["amend"].lane == "applicant"
        assert diagram.expressions, "decisions are routed by gateway conditions"
    approval_steps = {s for s in diagram.user_tasks if s != "amend"}
    boundary = [t for t in diagram.timers.values() if t.attached_to]
    assert {t.attached_to for t in boundary} == approval_steps  # every step is reminded
    assert all(t.notify in ("holder", "superior") for t in boundary)
    assert all(t.action for t in diagram.timers.values() if not t.attached_to)  # a bare timer does something
    for _element, expression in diagram.expressions:
        check_expression(expression)
    assert len(diagram.sha256) == 64


def test_lanes_of_the_long_chain():
    diagram = parse_diagram((BPMN_DIR / "query_items_change.bpmn").read_bytes())
    lanes = {s: t.lane for s, t in diagram.user_tasks.items()}
    assert lanes["authority_clerk_review"] == "authority_clerk"
    assert lanes["bureau_answer"] == "bureau_liaison"
    assert lanes["central_clerk_apply"] == lanes["central_clerk_set"] == "central_clerk"
    assert lanes["central_section_head_seal"] == lanes["central_section_head_result_seal"] == "central_section_head"
    assert lanes["central_director_seal"] == lanes["central_director_result_seal"] == "central_director"


# ---------------------------------------------------------------- expressions

@pytest.mark.parametrize("expression", [
    'decision == "approve"', "len(items) > 0", 'decision in ("approve", "return")', "not approved_items",
    "max(1, 2) >= min(3, 4)", "any(items) and all(items)",
    'len(set(add_items) - set(remove_items)) == 0 if add_items else True', "items[0] == 'C0101'", "items[::-1]",
    "-1 < 0 and (1 + 2) // 3 % 2 != 0", "decision is not None",
])
def test_allowed_expressions(expression):
    check_expression(expression)


@pytest.mark.parametrize("expression", [
    "__import__('os')", "__import__('os').system('id')", "().__class__", "().__class__.__bases__[0]",
    "open('/etc/passwd')", "open('/etc/passwd').read()", "decision.upper()", "items.__len__()",
    "lambda: 1", "(lambda x: x)(1)", "[x for x in items]", "{x for x in items}", "{x: 1 for x in items}",
    "any(x for x in items)", "(x := 1)", "__builtins__", "_secret", "len(items, key=len)", "getattr(items, 'x')",
    "eval('1')", "exec('x=1')", "globals()", "type(items)", "2 ** 64", "f'{decision}'", "{'a': 1}",
    "decision = 'approve'", "import os", "x" * 501, "'" + "a" * 201 + "'", "1 +",
    "len(items)(1)", "'x' * 1000000000", "items * 100000",
])
def test_refused_expressions(expression):
    with pytest.raises(ExpressionError):
        check_expression(expression)


def test_expressions_evaluate_without_builtins():
    env = SCRIPT_ENGINE.environment
    assert env.evaluate('decision == "approve"', {"decision": "approve"}) is True
    assert env.evaluate("len(items) > 0", {"items": []}) is False
    with pytest.raises(NameError):
        env.evaluate("open is not None", {})
    with pytest.raises(ExpressionError):
        env.evaluate("().__class__", {})
    with pytest.raises(ExpressionError):
        env.execute("x = 1", {})


# ---------------------------------------------------------------- hostile XML

@contextmanager
def tripwire(tmp_path: Path):
    """A FIFO whose writer, a separate process, drops a flag file the moment anyone opens the FIFO to read."""
    fifo, flag = tmp_path / "secret.txt", tmp_path / "opened.flag"
    os.mkfifo(fifo)
    script = 'exec 3>"$1"; : > "$2"; echo TOP-SECRET >&3'  # blocks in the open until a reader comes
    writer = subprocess.Popen(["/bin/sh", "-c", script, "sh", str(fifo), str(flag)])  # noqa: S603 - fixed argv
    try:
        yield fifo, flag
    finally:
        writer.kill()
        writer.wait()


def _assert_never_opened(xml: bytes, fifo: Path, flag: Path) -> DiagramError:
    with pytest.raises(DiagramError) as exc:
        parse_diagram(xml)
    time.sleep(0.05)  # a reader that did open the FIFO would have let the writer drop the flag by now
    assert not flag.exists(), "the parser opened the referenced file"
    assert "TOP-SECRET" not in str(exc.value)
    return exc.value


@pytest.mark.parametrize("where", ["text", "attribute"])
def test_external_entity_is_refused_and_never_read(tmp_path, where):
    with tripwire(tmp_path) as (fifo, flag):
        xml = QUERIER.replace('<?xml version="1.0" encoding="UTF-8"?>',
                              f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE bpmn:definitions '
                              f'[<!ENTITY xxe SYSTEM "file://{fifo}">]>', 1)
        if where == "text":
            xml = xml.replace("<bpmn:documentation>", "<bpmn:documentation>&xxe;", 1)
        else:
            xml = xml.replace('name="單位主管核准"', 'name="&xxe;"', 1)
        error = _assert_never_opened(xml.encode(), fifo, flag)
    if where == "text":
        assert "不可含 DOCTYPE" in str(error)


def test_the_tripwire_catches_a_parser_that_does_read(tmp_path):
    """Guards the tests above: a permissive parser on the same input trips the wire."""
    from lxml import etree

    with tripwire(tmp_path) as (fifo, flag):
        xml = f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{fifo}">]><d>&xxe;</d>'.encode()
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=True, load_dtd=True))
        assert "TOP-SECRET" in root.text
        assert flag.exists()


def test_external_parameter_entity_and_dtd_are_never_read(tmp_path):
    body = QUERIER.split("?>", 1)[1]
    with tripwire(tmp_path) as (fifo, flag):
        _assert_never_opened(f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{fifo}"> %p;]>{body}'.encode(), fifo, flag)
        _assert_never_opened(f'<!DOCTYPE d SYSTEM "file://{fifo}">{body}'.encode(), fifo, flag)


def test_xinclude_is_not_processed(tmp_path):
    with tripwire(tmp_path) as (fifo, flag):
        xml = QUERIER.replace(
            '<bpmn:documentation>',
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{fifo}" parse="text"/>'
            '<bpmn:documentation>', 1)
        diagram = parse_diagram(xml.encode())
        time.sleep(0.05)
        assert not flag.exists()
    assert "TOP-SECRET" not in (diagram.spec.description or "")


@pytest.mark.parametrize("where", ["text", "attribute"])
def test_billion_laughs_is_refused_without_being_expanded(where, lxml_spy):
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    body = QUERIER.split("?>", 1)[1]
    if where == "text":
        body = body.replace("<bpmn:documentation>", "<bpmn:documentation>&lol9;", 1)
    else:
        body = body.replace('name="單位主管核准"', 'name="&lol9;"', 1)
    xml = f'<?xml version="1.0"?>\n<!DOCTYPE bpmn:definitions [{"".join(entities)}]>{body}'.encode()
    with pytest.raises(DiagramError):
        parse_diagram(xml)
    assert lxml_spy.parsed == [len(xml)]
    assert all(size <= len(xml) for size in lxml_spy.built), "an entity was expanded"


@pytest.mark.parametrize("xml", [b"", b"hello", b"<bpmn:definitions", QUERIER.encode()[:-40],
                                 QUERIER.replace("</bpmn:process>", "", 1).encode(), b"\xff\xfe<a/>"])
def test_malformed_xml_is_refused(xml):
    with pytest.raises(DiagramError) as exc:
        parse_diagram(xml)
    assert exc.value.problems


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    valid = QUERIER.encode()
    at_limit = valid + b" " * (MAX_DIAGRAM_BYTES - len(valid))
    assert parse_diagram(at_limit).process_id == "querier_account"
    with pytest.raises(DiagramError, match="流程圖超過"):
        parse_diagram(at_limit + b" ")
    with tripwire(tmp_path) as (fifo, flag):
        hostile = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{fifo}">]>'.encode() + at_limit
        with pytest.raises(DiagramError, match="流程圖超過"):
            parse_diagram(hostile)
        time.sleep(0.05)
        assert not flag.exists()


def test_a_diagram_without_an_executable_process_is_refused():
    xml = QUERIER.replace('isExecutable="true"', 'isExecutable="false"')
    with pytest.raises(DiagramError):
        parse_diagram(xml.encode())


# ---------------------------------------------------------------- check_diagram refusals

def test_a_script_task_is_refused_with_its_id():
    script = ('<bpmn:scriptTask id="unit_head_review" name="單位主管核准" scriptFormat="python">'
              '<bpmn:script>import os; os.system("id")</bpmn:script></bpmn:scriptTask>')
    xml = QUERIER.replace(user_task("unit_head_review"), script)
    assert ("unit_head_review", SCRIPT_REFUSED) in problems_of(xml)


def test_a_pre_script_on_a_user_task_is_refused_with_its_id():
    task = user_task("agency_manager_setup")
    with_script = task.replace("</spiffworkflow:properties>",
                               "</spiffworkflow:properties><spiffworkflow:preScript>x = 1</spiffworkflow:preScript>")
    problems = problems_of(QUERIER.replace(task, with_script))
    assert ("agency_manager_setup", SCRIPT_REFUSED) in problems


def test_an_unknown_lane_is_refused_with_the_task_id():
    xml = QUERIER.replace('<bpmn:lane id="lane_agency_manager" name="agency_manager">',
                          '<bpmn:lane id="lane_agency_manager" name="janitor">')
    [(element, message)] = problems_of(xml)
    assert element == "agency_manager_setup" and "janitor" in message


def test_an_unknown_or_missing_form_is_refused_with_the_task_id():
    task = user_task("agency_manager_setup")
    [(element, message)] = problems_of(QUERIER.replace(task, task.replace('value="account_setup"',
                                                                          'value="free_text"')))
    assert element == "agency_manager_setup" and "free_text" in message
    bare = '<bpmn:userTask id="agency_manager_setup" name="機關管理者設定帳號"></bpmn:userTask>'
    [(element, _)] = problems_of(QUERIER.replace(task, bare))
    assert element == "agency_manager_setup"


def test_an_unsafe_condition_is_refused_with_the_gateway_id():
    xml = with_condition("flow_unit_head_review_approve", '__import__("os").system("id") == 0')
    [(element, message)] = problems_of(xml)
    assert element == "gw_unit_head_review" and "__import__" in message


def test_an_unknown_process_id_and_several_problems_are_all_reported():
    xml = QUERIER.replace('id="querier_account"', 'id="coffee_order"').replace(
        'processRef="querier_account"', 'processRef="coffee_order"').replace(
        '<bpmn:lane id="lane_unit_head" name="unit_head">', '<bpmn:lane id="lane_unit_head" name="boss">')
    elements = [element for element, _ in problems_of(xml)]
    assert "coffee_order" in elements and "unit_head_review" in elements


# ---------------------------------------------------------------- running

def querier_diagram(xml: str = QUERIER):
    return parse_diagram(xml.encode())


def test_save_and_restore_keep_the_ready_tasks():
    diagram = querier_diagram()
    run = Run.start(diagram, {**TIMERS, "request_type": "add", "items": ["C0101"]})
    [first] = run.ready_tasks()
    assert (first.step, first.lane, first.form) == ("unit_head_review", "unit_head", "review")

    state = run.save()
    saved = json.loads(state)
    assert "spec" not in saved and "subprocess_specs" not in saved  # the spec lives once per version
    restored = Run.restore(diagram, state)
    assert restored.ready_tasks() == [first]
    assert not restored.is_completed

    restored.complete(first.guid, {"decision": "approve", "opinion": "同意"})
    [second] = restored.ready_tasks()
    assert (second.step, second.lane, second.form) == ("agency_manager_setup", "agency_manager", "account_setup")

    again = Run.restore(diagram, restored.save())
    assert again.ready_tasks() == [second]
    with pytest.raises(StaleTask) as stale:  # already done: someone else decided it (409), not a broken engine
        again.complete(first.guid, {"decision": "approve"})
    assert isinstance(stale.value, Conflict) and isinstance(stale.value, EngineError)
    with pytest.raises(EngineError):
        again.complete("00000000-0000-0000-0000-000000000000", {"decision": "approve"})
    with pytest.raises(EngineError):
        again.complete("not-a-guid", {"decision": "approve"})

    again.complete(second.guid, {"decision": "approve", "effective_date": "2026-11-25"})
    [seal] = again.ready_tasks()  # 000 附表三 設定結果: the head of the manager's unit seals
    assert (seal.step, seal.lane, seal.form) == ("manager_unit_head_seal", "manager_unit_head", "account_seal")
    again.complete(seal.guid, {"decision": "approve"})
    assert again.is_completed and again.ready_tasks() == []
    data = Run.restore(diagram, again.save()).data
    assert (data["decision"], data["items"], data["effective_date"]) == ("approve", ["C0101"], "2026-11-25")


def test_return_resubmit_and_withdraw_routes():
    diagram = querier_diagram()
    run = Run.start(diagram, dict(TIMERS))
    run.complete(run.ready_tasks()[0].guid, {"decision": "return", "opinion": "補正"})
    [amend] = run.ready_tasks()
    assert (amend.step, amend.lane) == ("amend", "applicant")
    run = Run.restore(diagram, run.save())
    run.complete(amend.guid, {"decision": "resubmit"})
    [review] = run.ready_tasks()
    assert review.step == "unit_head_review" and review.guid != amend.guid
    run.complete(review.guid, {"decision": "return", "opinion": "再補正"})
    run.complete(run.ready_tasks()[0].guid, {"decision": "withdraw"})
    assert run.is_completed and run.data["decision"] == "withdraw"


def test_reject_ends_and_cancel_stops_everything():
    diagram = querier_diagram()
    rejected = Run.start(diagram, dict(TIMERS))
    rejected.complete(rejected.ready_tasks()[0].guid, {"decision": "reject", "opinion": "不符"})
    assert rejected.is_completed and rejected.data["opinion"] == "不符"

    cancelled = Run.start(diagram, dict(TIMERS))
    cancelled.cancel()
    assert cancelled.ready_tasks() == []
    assert Run.restore(diagram, cancelled.save()).ready_tasks() == []


def test_a_condition_using_a_helper_runs():
    xml = with_condition("flow_unit_head_review_approve", 'decision == "approve" and len(items) > 1')
    run = Run.start(querier_diagram(xml), {**TIMERS, "request_type": "add", "items": ["C0101"]})
    run.complete(run.ready_tasks()[0].guid, {"decision": "approve"})
    assert run.is_completed  # one item only: the approve flow does not match, the default (reject) is taken
    run = Run.start(querier_diagram(xml), {**TIMERS, "request_type": "add", "items": ["C0101", "B0101"]})
    run.complete(run.ready_tasks()[0].guid, {"decision": "approve"})
    assert [t.step for t in run.ready_tasks()] == ["agency_manager_setup"]


@pytest.mark.parametrize("expression", [
    '__import__("pathlib").Path("{marker}").touch() is None',
    'open("{marker}", "w").write("x") == 1',
    '().__class__.__base__.__subclasses__() == [] or "{marker}" == ""',
])
def test_a_hostile_condition_fails_at_runtime_without_executing(tmp_path, expression):
    marker = tmp_path / "pwned"
    xml = with_condition("flow_unit_head_review_approve", expression.format(marker=marker))
    diagram = querier_diagram(xml)  # parsing alone does not vet expressions; check_diagram would refuse it
    run = Run.start(diagram, dict(TIMERS))
    with pytest.raises(EngineError):
        run.complete(run.ready_tasks()[0].guid, {"decision": "approve"})
    assert not marker.exists()


def test_a_name_outside_the_data_fails_at_runtime():
    xml = with_condition("flow_unit_head_review_approve", "open is not None")
    run = Run.start(querier_diagram(xml), dict(TIMERS))
    with pytest.raises(EngineError):
        run.complete(run.ready_tasks()[0].guid, {"decision": "approve"})


# ---------------------------------------------------------------- dates and intermediate timers

ROLE_TRANSFER = (BPMN_DIR / "role_transfer.bpmn").read_bytes()


@pytest.mark.parametrize(("expression", "expected"), [
    ('at_date("2027-03-01")', "2027-03-01T00:00:00+08:00"),
    ('at_date("2027-02-28", 7)', "2027-03-07T00:00:00+08:00"),
    ('at_date("2028-02-28", 1)', "2028-02-29T00:00:00+08:00"),
])
def test_at_date_is_midnight_in_taipei(expression, expected):
    check_expression(expression)
    assert eval(compile(check_expression(expression), "t", "eval"), {"__builtins__": {}},  # noqa: S307
                dict(HELPERS)) == expected


@pytest.mark.parametrize("expression", ['at_date("2027-13-01")', "at_date(20270301)", 'at_date("2027-03-01", 1.5)',
                                        'at_date("2027-03-01", 99999)', 'at_date("now")'])
def test_at_date_refuses_anything_but_an_iso_date_and_whole_days(expression):
    with pytest.raises(ExpressionError):
        eval(compile(check_expression(expression), "t", "eval"), {"__builtins__": {}}, dict(HELPERS))  # noqa: S307


def test_an_intermediate_timer_carries_its_action_and_fires_on_its_date():
    diagram = parse_diagram(ROLE_TRANSFER)
    assert diagram.timers["handover"] == TimerInfo("handover", None, None, "manager_handover")
    data = {"kind": "agency_manager", "effective_date": "2027-03-01", **TIMERS}
    with time_machine.travel(datetime(2027, 2, 20, 1, 0, tzinfo=UTC), tick=False) as clock:
        run = Run.start(diagram, data)
        assert run.ready_tasks() == [] and run.fired == []
        assert run.next_timer_at() == datetime(2027, 2, 28, 16, 0, tzinfo=UTC)  # 00:00 on 1 March in Taipei
        clock.move_to(datetime(2027, 2, 28, 15, 59, tzinfo=UTC))
        run = Run.restore(diagram, run.save())
        assert run.tick() == [] and not run.is_completed
        clock.move_to(datetime(2027, 2, 28, 16, 1, tzinfo=UTC))
        run = Run.restore(diagram, run.save())
        assert run.tick() == ["handover"] and run.is_completed


def test_a_due_date_expression_sets_the_steps_due_moment():
    diagram = parse_diagram(ROLE_TRANSFER)
    assert ("notify_bureau", "at_date(effective_date, 7)") in diagram.expressions  # checked like conditions
    with time_machine.travel(datetime(2027, 2, 20, 1, 0, tzinfo=UTC), tick=False):
        [task] = Run.start(diagram, {"kind": "central_staff", "effective_date": "2027-03-01", **TIMERS}).ready_tasks()
    assert (task.step, task.due_at) == ("notify_bureau", datetime(2027, 3, 7, 16, 0, tzinfo=UTC))


def test_an_engine_failure_is_told_in_chinese_naming_its_element():
    from tests.workflows.editor.bpmn_builder import bpmn, decision_gateway, flow, step
    from workflows.engine import EngineError, Run, parse_diagram

    xml = bpmn("querier_account", ['<bpmn:startEvent id="start" />', step("review", "單位主管核准"),
                                   '<bpmn:endEvent id="end_ok" />', '<bpmn:endEvent id="end_no" />',
                                   flow("f1", "start", "review"),
                                   *decision_gateway("review", "end_ok", "end_no", condition="test == 1")],
               {"unit_head": ["start", "review", "gw_review", "end_ok", "end_no"]})
    run = Run.start(parse_diagram(xml.encode()), {})
    [task] = run.ready_tasks()
    with pytest.raises(EngineError) as error:
        run.complete(task.guid, {"decision": "approve"})
    assert error.value.element == "gw_review"
    assert str(error.value) == "「gw_review」的運算式「test == 1」用到「test」，但沒有任何表單或步驟提供這個資料"
    with pytest.raises(EngineError, match="此案件剛被其他人處理"):  # a step no longer waiting: StaleTask, a 409
        run.complete("not-a-guid", {})
