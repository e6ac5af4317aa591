"""The Kaohsiung pack (bpmn/kaohsiung/pack.yaml, demo.yaml, bpmn/common.yaml) builds exactly what Python built.

tests/fixtures/packs/kaohsiung-before.json was written from the Python objects before they moved into the pack
(forms, step forms, duties, labels, settings and the demo organisation): the move lost nothing.
"""

import dataclasses
import json
from pathlib import Path

from models import ROLE_LABELS
from workflows import agency_rules, demo, jurisdiction
from workflows.accounts.effects import EFFECTS
from workflows.forms import FORMS, STEP_FORMS
from workflows.org.agencies import KIND_LABELS
from workflows.settings import Settings
from workflows.timers import duties
from workflows.validators import FORM_CHECKS

BEFORE = json.loads((Path(__file__).parents[2] / "fixtures" / "packs" / "kaohsiung-before.json").read_text("utf-8"))
CHECK_NAMES = {"_items_change_check": "items_change", "_registration_check": "registration",
               "_sampling_check": "sampling", "_termination_check": "termination"}
# Added by the pack: not in the fixture (a rows field's columns are compared on their own, below).
NEW_FIELD_ATTRIBUTES = {"source", "attestation", "computed", "columns", "min_rows", "max_rows"}
ROW_COLUMNS = ("query_date", "subject_name", "subject_national_id", "item", "reason")
# 社會局's own rules (bpmn/kaohsiung/agencies/KHH-SW, issue 14) came after the fixture: its forms, step forms and
# lanes join the catalogue, and the demo gained the district office it commissions.
LAYERED = {name for layer in agency_rules.LAYERS.values()
           for name in (*layer.filers, *layer.step_forms, *layer.roles)}
DEMO_ADDED = {"KHH-FS", "fs_staff", "fs_unit_head"}


def field_dump(f) -> dict:
    d = {k: v for k, v in dataclasses.asdict(f).items() if k not in NEW_FIELD_ATTRIBUTES}
    d["choices"] = [list(c) for c in f.choices]
    d["required_when"] = None if f.required_when is None else [f.required_when[0], list(f.required_when[1])]
    return d


def check_name(check) -> str | None:
    return next((name for name, fn in FORM_CHECKS.items() if fn is check), "unregistered") if check else None


def changed_since_the_move(forms: dict) -> dict:
    """What changed on purpose after the fixture was written: a registration's legal basis is picked from its
    agency's legal-basis table, another one only with a reason (issue 12; 001 附表); a violation case may come from
    社會局's 稽核紀錄表 (003 §8 ¶2); the yearly audit with 資訊處 and the self-audit duty (issue 18, below)."""
    fields = forms["query_registration"]["fields"]
    at = next(n for n, f in enumerate(fields) if f["name"] == "legal_basis")
    fields[at] = {**fields[at], "type": "legal_basis",
                  "help": "從本機關的法律依據表（001 附表）選擇；改用表外的依據須說明理由，並標示供審核"}
    fields.insert(at + 1, {**fields[at], "name": "legal_basis_reason", "label": "改用表外法令依據之理由",
                           "type": "text", "required": False, "help": "法令依據不在本機關的法律依據表時必填"})
    _registration_rows(forms["query_registration"])
    fields = forms["violation"]["fields"]
    fields[0] = {**fields[0], "choices": [*fields[0]["choices"], ["audit_record", "稽核紀錄表"]]}
    at = next(n for n, f in enumerate(fields) if f["name"] == "sampling_draw")
    fields.insert(at + 1, {**fields[at], "name": "audit_record", "label": "稽核紀錄表申請編號"})
    return audit_with_central(forms)


def _registration_rows(form: dict) -> None:
    """Issue 18 (000 附表一): the sheet's subject, item, date and reason became its rows' columns, as they were."""
    columns = [f for f in form["fields"] if f["name"] in ROW_COLUMNS]
    assert [field_dump(c) for c in FORMS["query_registration"].fields[1].columns] == columns
    form["fields"] = [f for f in form["fields"] if f["name"] not in ROW_COLUMNS]
    form["fields"].insert(1, {"name": "rows", "label": "查調資料", "type": "rows", "required": True, "choices": [],
                              "help": "", "required_when": None, "sensitive": False, "max_length": None})
    form["summary_fields"], form["key_fields"] = ["case_number"], ["case_number", "rows"]


# Issue 18 (001 §12(3)): the yearly audit is 勞工局's with 資訊處, its record structured, its findings tracked until
# closed; each agency's own yearly security self-audit (001 §12(3)a) is a new duty. Their step forms are new.
AUDIT_STEP_FIELDS = {
    "agency_audit": ["audit_date", "accuracy", "accuracy_note", "legitimacy", "legitimacy_note", "usage", "usage_note",
                     "confidentiality", "confidentiality_note", "findings", "proposal", "proposal_detail",
                     "findings_open"],
    "agency_audit_central": ["central_findings"],
    "audit_correction": ["closed_findings", "corrected_on", "correction", "findings_open"],
    "self_audit": ["audit_date", "webir_included", "findings", "improvements"],
}
SELF_AUDIT_SCHEDULE = {"name": "security_self_audit", "process": "security_self_audit", "every": "year", "day": 1,
                       "month": 10, "hour": 9, "title": "機關年度資訊安全自我稽核", "source": "001 §12(3)a",
                       "targets": "self_auditing_agencies", "off_unless_named": False}


# 001 §3(1)3: 資訊處's own yearly audit of the WebIR accounts, after the fixture.
CENTRAL_ACCOUNT_AUDIT = {"name": "central_account_audit", "process": "central_account_audit", "every": "year",
                         "day": 1, "month": 4, "hour": 9, "title": "總管理機關年度稽核勞保 WebIR 帳號",
                         "source": "001 §3(1)3", "targets": "central_agencies", "off_unless_named": False}


def audit_with_central(forms: dict) -> dict:
    forms["agency_audit"]["title"] = "年度稽核（勞工局會同資訊處）"
    ordered = {}
    for key, form in forms.items():
        ordered[key] = form
        if key == "agency_audit":
            ordered["security_self_audit"] = {
                "key": "security_self_audit", "title": "機關年度資訊安全自我稽核（含勞保 WebIR）",
                "source": "001 第十二點第三款第一目", "filer_role": "scheduler", "check": None,
                "summary_fields": [], "key_fields": [], "fields": []}
    return ordered


def test_the_forms_are_the_ones_python_built():
    before = changed_since_the_move(
        {k: {**f, "check": CHECK_NAMES.get(f["check"], f["check"])} for k, f in BEFORE["forms"].items()})
    now = {k: {"key": s.key, "title": s.title, "source": s.source, "filer_role": s.filer_role,
               "check": check_name(s.check), "summary_fields": list(s.summary_fields),
               "key_fields": list(s.key_fields), "fields": [field_dump(f) for f in s.fields]}
           for k, s in FORMS.items() if k not in LAYERED}
    # Issue 18 (000 附表四): the split is set at filing from the records, two fields the filer is not asked.
    split = now["query_items_change"]["fields"][-2:]
    assert [(f["name"], f["type"]) for f in split] == [("bureau_items", "multichoice"), ("to_bureau", "boolean")]
    del now["query_items_change"]["fields"][-2:]
    # 資訊處 audits its own security too (001 §12(3)a): the duty marks its instance, a field nobody is asked.
    [central] = now["security_self_audit"]["fields"]
    assert (central["name"], central["type"]) == ("central_agency", "boolean")
    now["security_self_audit"]["fields"] = []
    # 000 §6(1): the manager's comparison report to the agency head, its figures set from the records.
    del now["log_comparison"]
    # 001 §3(1)3: 資訊處's yearly audit of every agency's accounts, a duty's form with no field of its own.
    assert now.pop("central_account_audit")["fields"] == []
    assert [f.name for f in FORMS["log_comparison"].fields if f.computed] == [
        "logged_queries", "flagged_queries", "flag_counts", "flags_explained", "flags_violation", "flags_unanswered"]
    assert list(now) == list(before)  # in the same order (the forms page lists them so)
    for key in before:
        assert now[key] == before[key], key


def test_the_step_forms_are_the_ones_python_built():
    before = {k: {**f, "check": CHECK_NAMES.get(f["check"], f["check"])} for k, f in BEFORE["step_forms"].items()
              if k not in AUDIT_STEP_FIELDS}
    now = {k: {"key": s.key, "decisions": list(s.decisions), "approve_label": s.approve_label,
               "check": check_name(s.check), "fields": [field_dump(f) for f in s.fields]}
           for k, s in STEP_FORMS.items() if k not in LAYERED and k not in AUDIT_STEP_FIELDS}
    # Issue 18 (000 附表四 設定結果): 資訊處's clerk sets the local part with its date before 勞保局 answers.
    assert [f["name"] for f in now.pop("set_items")["fields"]] == ["set_on"]
    assert now.pop("comparison_review")["decisions"] == ["approve"]  # 000 §6(1): the head reads the report
    assert [f["name"] for f in now.pop("central_account_audit")["fields"]] == ["findings"]  # 001 §3(1)3
    assert now.pop("central_audit_approval")["decisions"] == ["approve"]
    assert set(now) == set(before)
    assert {k: [f.name for f in STEP_FORMS[k].fields] for k in AUDIT_STEP_FIELDS} == AUDIT_STEP_FIELDS
    for key in before:
        assert now[key] == before[key], key
    assert STEP_FORMS["review"].decisions == ("approve", "reject", "return")  # from bpmn/common.yaml


def test_the_duties_are_the_schedules_python_built():
    now = [{"name": s.name, "process": s.process, "every": s.every, "day": s.day, "month": s.month, "hour": s.hour,
            "title": s.title, "source": s.source, "targets": s.targets.__name__,
            "off_unless_named": s.off_unless_named} for s in duties.SCHEDULES]
    before = list(BEFORE["schedules"])
    before.insert(next(n for n, s in enumerate(before) if s["name"] == "items_review"), SELF_AUDIT_SCHEDULE)
    before.insert(next(n for n, s in enumerate(before) if s["name"] == "items_review"), CENTRAL_ACCOUNT_AUDIT)
    assert now == before
    assert all(s.due_day is None for s in duties.SCHEDULES)  # Kaohsiung's rules set no deadline day


def test_labels_and_settings_are_the_ones_python_had():
    assert {str(k): v for k, v in ROLE_LABELS.items() if k not in LAYERED} == BEFORE["role_labels"]
    assert {str(k): v for k, v in KIND_LABELS.items()} == BEFORE["kind_labels"]
    settings = jurisdiction.active().settings
    assert settings["retention_years"] == BEFORE["settings"]["retention_years"]
    assert settings["office_hours_only"] is BEFORE["settings"]["office_hours_only"]
    assert list(settings["office_hours"]) == BEFORE["settings"]["office_hours"]
    assert settings["violation_report_days"] == BEFORE["settings"]["violation_report_days"]
    assert settings["password_change_months"] is None  # 我的e政府's own password rules (001 §6(3))
    defaults = Settings()
    assert (defaults.office_hours_start, defaults.office_hours_end) == tuple(BEFORE["settings"]["office_hours"])


def test_the_demo_is_the_one_python_built():
    before = BEFORE["demo"]
    assert [[c, n, str(k), list(i)] for c, n, k, i in demo.AGENCIES if c not in DEMO_ADDED] == before["agencies"]
    assert demo.SINGLE_MANAGER_RULES == before["single_manager_rules"]
    assert {k: list(v) for k, v in demo.ADMISSIONS.items()} == before["admissions"]
    assert [[u, n, t, a, un, [str(r) for r in roles]] for u, n, t, a, un, roles in demo.PEOPLE
            if u not in DEMO_ADDED] == before["people"]
    assert [[u, list(i)] for u, i in demo.ACCOUNTS] == before["accounts"]
    assert demo.MANAGERS == before["managers"]
    bases = dict(jurisdiction.active().demo.legal_bases)
    assert {k: [list(r) for r in v] for k, v in bases.items()} == before["legal_bases"]


def test_the_names_the_packs_may_use_are_the_ones_the_code_offers():
    assert set(EFFECTS) == jurisdiction.EFFECT_NAMES
    assert set(duties.TARGETS) == jurisdiction.TARGET_NAMES
    assert {FORMS[k].effect for k in FORMS if FORMS[k].effect} == set(EFFECTS)  # every effect is named by a form


def test_the_kaohsiung_pack_has_no_problems():
    assert jurisdiction.check_pack("kaohsiung") == []
