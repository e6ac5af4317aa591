"""Simulation before deploy: every path of a candidate diagram is walked, and harmful ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflows.editor.bpmn_builder import bpmn, decision_gateway, flow, props, step
from workflows.editor.deploy import check_xml

BPMN_DIR = Path(__file__).resolve().parents[3] / "bpmn" / "kaohsiung"
SHIPPED = sorted(BPMN_DIR.glob("*.bpmn")) + sorted((BPMN_DIR / "history" / "2017").glob("*.bpmn"))

START = '<bpmn:startEvent id="start" />'
END_OK, END_NO = '<bpmn:endEvent id="end_ok" />', '<bpmn:endEvent id="end_no" />'
APPLICANT = ["start", "end_ok", "end_no"]


def refusal(xml: str, element: str) -> str:
    """The one message naming ``element``; it must also show the path that reaches it."""
    report = check_xml(xml.encode())
    messages = [message for eid, message in report.problems if eid == element]
    assert messages, report.problems
    assert "路徑：提出申請" in messages[0], messages[0]
    return messages[0]


def one_review(*extra: str, condition: str = 'decision == "approve"', step_extra: str = "") -> str:
    review = step("review", "單位主管核准").replace("</bpmn:userTask>", f"{step_extra}</bpmn:userTask>")
    return bpmn("querier_account", [START, review, END_OK, END_NO, flow("f1", "start", "review"),
                                    *decision_gateway("review", "end_ok", "end_no", condition=condition), *extra],
                {"applicant": APPLICANT, "unit_head": ["review", "gw_review", *[]]})


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_diagrams_simulate_clean(path):
    report = check_xml(path.read_bytes())
    assert report.problems == []
    assert any(p.end == "approved" for p in report.paths)
    if path.stem not in ("role_transfer",):
        assert any(p.end == "rejected" for p in report.paths) or all(
            s.decision == "approve" for p in report.paths for s in p.steps)


def test_a_condition_naming_data_no_form_provides_is_refused():
    message = refusal(one_review(condition="test == 1"), "gw_review")
    assert "「test」" in message and "單位主管核准：同意" in message


def test_a_timer_naming_data_no_form_provides_is_refused():
    reminder = ('<bpmn:boundaryEvent id="remind" name="逾期提醒" attachedToRef="review" cancelActivity="false">'
                '<bpmn:timerEventDefinition id="remind_t"><bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
                'working_days(due_time)</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                '<bpmn:endEvent id="reminded" />')
    xml = one_review(reminder, flow("f_remind", "remind", "reminded"))
    assert "「due_time」" in refusal(xml, "remind")


def test_start_straight_to_end_is_refused():
    xml = bpmn("querier_account", [START, END_OK, flow("f1", "start", "end_ok")], {"applicant": ["start", "end_ok"]})
    assert "未經任何人審核" in refusal(xml, "end_ok")


def test_a_timer_that_closes_the_chain_is_refused():
    deadline = ('<bpmn:boundaryEvent id="deadline" name="期限" attachedToRef="review" cancelActivity="true">'
                '<bpmn:timerEventDefinition id="deadline_t"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
                '"P3D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                '<bpmn:endEvent id="timed_out" />')
    message = refusal(one_review(deadline, flow("f_deadline", "deadline", "timed_out")), "deadline")
    assert "期限（計時器）" in message


def test_an_intermediate_timer_straight_to_end_is_refused():
    timer = ('<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition id="wait_t">'
             '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P3D"</bpmn:timeDuration>'
             '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    xml = bpmn("querier_account", [START, timer, END_OK, flow("f1", "start", "wait"), flow("f2", "wait", "end_ok")],
               {"applicant": ["start", "wait", "end_ok"]})
    report = check_xml(xml.encode())
    assert [m for e, m in report.problems if "沒有人決定" in m or "未經任何人審核" in m], report.problems


def test_a_step_inside_a_subprocess_is_refused():
    sub = ('<bpmn:subProcess id="sub" name="子流程"><bpmn:startEvent id="s_start" />'
           + step("inner", "子流程中的審核") + '<bpmn:endEvent id="s_end" />'
           + flow("sf1", "s_start", "inner") + flow("sf2", "inner", "s_end") + "</bpmn:subProcess>")
    xml = bpmn("querier_account", [START, sub, END_OK, flow("f1", "start", "sub"), flow("f2", "sub", "end_ok")],
               {"applicant": ["start", "sub", "end_ok"]})
    assert "子流程" in refusal(xml, "inner")


def test_a_receive_task_that_waits_forever_is_refused():
    xml = bpmn("querier_account", [START, '<bpmn:receiveTask id="wait_answer" name="等待回覆" messageRef="answer" />',
                                   END_OK, flow("f1", "start", "wait_answer"), flow("f2", "wait_answer", "end_ok")],
               {"applicant": ["start", "wait_answer", "end_ok"]}).replace(
        "<bpmn:process ", '<bpmn:message id="answer" name="answer" /><bpmn:process ')
    report = check_xml(xml.encode())
    messages = [m for e, m in report.problems if e == "wait_answer"]
    assert any("永遠" in m for m in messages), report.problems


def test_a_review_without_a_decision_gateway_is_refused():
    xml = bpmn("querier_account", [START, step("first", "單位主管核准"), step("second", "機關首長核准"), END_OK,
                                   flow("f1", "start", "first"), flow("f2", "first", "second"),
                                   flow("f3", "second", "end_ok")],
               {"applicant": ["start", "end_ok"], "unit_head": ["first"], "agency_head": ["second"]})
    message = refusal(xml, "first")
    assert "不同意" in message and "單位主管核准：不同意 → 機關首長核准" in message


def test_a_loop_of_steps_with_no_exit_is_refused():
    xml = bpmn("querier_account", [START, step("review", "單位主管核准"), END_OK,
                                   '<bpmn:exclusiveGateway id="gw" default="f_back" />',
                                   flow("f1", "start", "review"), flow("f2", "review", "gw"),
                                   flow("f_back", "gw", "review"), flow("f_never", "gw", "end_ok", "1 == 2")],
               {"applicant": ["start", "end_ok"], "unit_head": ["review", "gw"]})
    assert "永遠無法結束" in refusal(xml, "review")


def test_a_loop_of_automatic_steps_is_bounded_and_refused():
    xml = bpmn("querier_account", [START, END_OK, '<bpmn:exclusiveGateway id="gw_join" />',
                                   '<bpmn:exclusiveGateway id="gw_split" default="f_back" />',
                                   flow("f1", "start", "gw_join"), flow("f2", "gw_join", "gw_split"),
                                   flow("f_back", "gw_split", "gw_join"),
                                   flow("f_never", "gw_split", "end_ok", "1 == 2")],
               {"applicant": ["start", "gw_join", "gw_split", "end_ok"]})
    report = check_xml(xml.encode())
    assert [m for _e, m in report.problems if "路徑無法結束" in m], report.problems


def test_a_lane_nobody_is_assigned_to_is_refused():
    xml = one_review().replace('name="unit_head"', 'name="querier"')
    report = check_xml(xml.encode())
    assert [m for e, m in report.problems if e == "review" and "沒有人能辦理" in m], report.problems


def test_every_problem_is_reported_in_one_round():
    xml = bpmn("querier_account", [START, step("first", "單位主管核准"), step("second", "機關首長核准"), END_OK, END_NO,
                                   flow("f1", "start", "first"), flow("f2", "first", "second"),
                                   *decision_gateway("second", "end_ok", "end_no", condition="test == 1")],
               {"applicant": APPLICANT, "querier": ["first"], "agency_head": ["second", "gw_second"]})
    report = check_xml(xml.encode())
    elements = {e for e, _m in report.problems}
    assert {"first", "gw_second"} <= elements
    assert len([m for e, m in report.problems if e == "first"]) >= 2  # nobody holds the lane; 不同意 goes on
    assert any("test" in m for e, m in report.problems if e == "gw_second")


def test_the_report_lists_every_path_with_its_decisions():
    report = check_xml((BPMN_DIR / "querier_account.bpmn").read_bytes())
    texts = [p.describe() for p in report.paths]
    assert "[request_type=add] 提出申請 → 單位主管核准：不同意 → 不同意結案" in texts
    assert ("[request_type=add] 提出申請 → 單位主管核准：同意 → 機關管理者設定帳號：同意 → "
            "權限管理單位主管核章：同意 → 核准結案") in texts
    # 000 第四點末段: a manager's deletion for a querier who left goes from the unit head to the seal.
    assert ("[request_type=remove_departed] 提出申請 → 單位主管核准：同意 → 權限管理單位主管核章：同意 → 核准結案"
            in texts)
    assert any("申請人補正或撤回：撤回 → 撤回結案" in t for t in texts)


def test_a_new_process_key_may_start_a_known_form():
    xml = one_review().replace('id="querier_account"', 'id="querier_account_short"').replace(
        'bpmnElement="querier_account"', 'bpmnElement="querier_account_short"')
    assert any("不是已知的表單代碼" in m for _e, m in check_xml(xml.encode()).problems)
    named = xml.replace('isExecutable="true">', f'isExecutable="true">{props(form="querier_account")}')
    assert check_xml(named.encode()).problems == []
    unknown = xml.replace('isExecutable="true">', f'isExecutable="true">{props(form="no_such_form")}')
    assert any("no_such_form" in m for _e, m in check_xml(unknown.encode()).problems)
