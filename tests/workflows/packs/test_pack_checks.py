"""A pack with mistakes is refused naming every one; a sound pack is activated and read by the code."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from models import ROLE_LABELS, Role
from workflows import forms, jurisdiction
from workflows.editor.deploy import KNOWN_ROLES
from workflows.org.agencies import KIND_LABELS
from workflows.settings import SETTINGS
from workflows.timers import duties

ROOT = Path(__file__).resolve().parents[3]
KAOHSIUNG = ROOT / "bpmn" / "kaohsiung"


def copy_pack(root: Path, key: str) -> Path:
    """Kaohsiung's pack copied under another key (diagrams, history, pack.yaml, demo.yaml, common.yaml)."""
    shutil.copytree(KAOHSIUNG, root / key)
    shutil.copy(ROOT / "bpmn" / "common.yaml", root / "common.yaml")
    return root / key


def read(folder: Path, name: str) -> dict:
    return yaml.load((folder / name).read_text("utf-8"), Loader=jurisdiction._Loader)  # noqa: S506


def write(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


@contextmanager
def edited_pack(root: Path, key: str) -> Iterator[dict]:
    """Kaohsiung's pack copied under ``key``: its pack.yaml (key set) to change in the block, written after it."""
    folder = copy_pack(root, key)
    pack = read(folder, "pack.yaml")
    pack["key"] = key
    yield pack
    write(folder, "pack.yaml", pack)


@pytest.fixture
def kaohsiung_again():
    """Whatever a test activates, the rest of the run reads Kaohsiung's pack again."""
    yield
    jurisdiction.activate("kaohsiung")


def broken_pack(root: Path) -> Path:
    folder = copy_pack(root, "broken")
    pack, demo = read(folder, "pack.yaml"), read(folder, "demo.yaml")
    pack["key"] = "broken"
    del pack["roles"]["it_unit"]  # joint_audit.bpmn has a lane it_unit; sw_it_staff holds it
    fields = pack["forms"]["querier_account"]["fields"]
    del fields[2]["type"]  # job_title: no type
    fields[3]["type"] = "id_number"  # national_id: an unknown type
    del fields[0]["choices"]  # request_type: a choice without choices (and its required_when names still work)
    fields[-2]["required_when"] = {"reqest_type": ["add"]}  # items: names no field
    pack["forms"]["query_items_change"]["check"] = "items_chnage"
    pack["forms"]["manager_account"]["effect"] = "manager_acount"
    pack["duties"]["account_review"]["targets"] = "every_agency"
    pack["forms"]["ghost"] = {"title": "沒有流程圖的表單", "fields": []}
    pack["duties"]["ghost_duty"] = {"title": "沒有流程圖的例行作業", "every": "month", "day": 1}
    del pack["step_forms"]["bureau_notice"]  # role_transfer.bpmn's step asks for it
    demo["people"].append({"username": "stray", "name": "某人", "title": "科員", "agency": "KHH-XX", "unit": "某科",
                           "roles": ["querier", "clerk"]})
    write(folder, "pack.yaml", pack)
    write(folder, "demo.yaml", demo)
    return folder


EXPECTED = [
    "role_transfer.bpmn: user task 'notify_bureau' asks for step form 'bureau_notice'",
    "forms.querier_account.fields[2] (job_title): no type",
    "forms.querier_account.fields[3] (national_id): unknown type 'id_number'",
    "forms.querier_account.fields[0] (request_type): a choice field without choices",
    "forms.querier_account.fields (items): required_when names no field: 'reqest_type'",
    "forms.query_items_change: check 'items_chnage' names no validator",
    "forms.manager_account: effect 'manager_acount' names nothing in code",
    "duties.account_review: targets 'every_agency' names nothing in code",
    "forms.ghost: no diagram starts it",
    "duties.ghost_duty: no diagram for its process 'ghost_duty'",
    "joint_audit.bpmn: lane 'it_unit' names a role the pack does not list",
    "demo.yaml person stray: unknown agency 'KHH-XX'",
    "demo.yaml person stray: unknown role 'clerk'",
    "demo.yaml person sw_it_staff: unknown role 'it_unit'",
]


def test_a_broken_pack_is_refused_naming_every_mistake(tmp_path):
    broken_pack(tmp_path)
    problems = jurisdiction.check_pack("broken", tmp_path)
    for expected in EXPECTED:
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert len(problems) == len(EXPECTED), problems  # each mistake once, nothing else


def test_a_broken_pack_is_never_activated(tmp_path):
    broken_pack(tmp_path)
    with pytest.raises(jurisdiction.PackError) as refused:
        jurisdiction.activate("broken", tmp_path)
    assert "no type" in str(refused.value) and "effect 'manager_acount'" in str(refused.value)
    assert jurisdiction.active().key == "kaohsiung" and "querier_account" in forms.FORMS  # nothing changed


def test_a_missing_pack_and_a_bad_key_are_refused(tmp_path):
    assert jurisdiction.check_pack("nowhere", tmp_path) == [f"no pack folder {tmp_path / 'nowhere'}"]
    assert "is not a pack key" in jurisdiction.check_pack("../etc", tmp_path)[0]
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "pack.yaml").write_text("key: odd\nforms: [\n", "utf-8")
    assert jurisdiction.check_pack("odd", tmp_path)[0].startswith("pack.yaml: not readable YAML")


def test_yaml_words_like_off_and_no_stay_words(tmp_path):
    with edited_pack(tmp_path, "words") as pack:
        pack["forms"]["agency_suspension"]["fields"][1]["choices"] = {"no": "否", "off": "關閉"}
        pack["duties"]["usage_check"]["off"] = True  # a duty shipped off (Taoyuan's pack ships none off either)
    built, problems = jurisdiction.load_pack("words", tmp_path)
    assert problems == []
    assert built.forms["agency_suspension"].fields[1].choices == (("no", "否"), ("off", "關閉"))
    assert built.duties["usage_check"].off is True and built.duties["account_review"].off is False


def test_activating_another_pack_fills_what_the_code_reads(tmp_path, kaohsiung_again):
    with edited_pack(tmp_path, "harbour") as pack:
        pack.update(name="港市", city="harbour")
        pack["roles"]["central_clerk"] = "資訊中心承辦人"
        pack["agency_kinds"]["central"] = "資訊中心"
        pack["settings"].update(retention_years={"applications": 3}, office_hours_only=True,
                                office_hours=["08:30", "17:30"], password_change_months=3)
        pack["duties"]["usage_report"] = {"process": "usage_check", "title": "每月使用情形陳報",
                                          "source": "004 第八點", "every": "half_year", "day": 1, "due_day": 10,
                                          "targets": "querier_accounts"}
        pack["forms"]["query_registration"]["fields"].append({"name": "consent", "label": "當事人書面同意",
                                                              "type": "boolean", "attestation": True,
                                                              "source": "004 第四點"})
    assert jurisdiction.check_pack("harbour", tmp_path) == []
    jurisdiction.activate("harbour", tmp_path)
    assert ROLE_LABELS[Role.CENTRAL_CLERK] == "資訊中心承辦人" and ROLE_LABELS[Role.QUERIER] == "資料查詢者"
    assert KIND_LABELS["central"] == "資訊中心" and "it_unit" in KNOWN_ROLES
    consent = forms.FORMS["query_registration"].fields[-1]
    assert consent.attestation and consent.source == "004 第四點"
    assert SETTINGS.retention_years == {"applications": 3, "query_logs": 5, "deletion_proofs": 5}
    assert (SETTINGS.office_hours_only, SETTINGS.office_hours_start, SETTINGS.office_hours_end) == \
        (True, "08:30", "17:30")
    assert SETTINGS.password_change_months == 3
    report = duties.find_schedule("usage_report")
    assert (report.every, report.months(), report.due_day, report.targets) == \
        ("half_year", (1, 7), 10, duties.querier_accounts)
    jurisdiction.activate("kaohsiung")
    assert ROLE_LABELS[Role.CENTRAL_CLERK] == "總管理機關承辦人" and duties.find_schedule("usage_report") is None
    assert SETTINGS.retention_years["applications"] == 5 and SETTINGS.password_change_months is None


def test_activated_puts_the_pack_before_back(tmp_path):
    with edited_pack(tmp_path, "harbour") as pack:
        pack.update(name="港市")
    with jurisdiction.activated("harbour", tmp_path) as harbour:
        assert jurisdiction.active() is harbour and harbour.name == "港市"
    assert jurisdiction.active().key == "kaohsiung" and forms.FORMS["querier_account"].title.startswith("勞保 WebIR")


def test_an_overlay_replaces_entries_by_key_and_is_checked_like_the_pack():
    base = jurisdiction.active()
    overlay = {"settings": {"violation_report_days": 7},
               "forms": {"role_transfer": {"title": "職務異動（社會局）"}},
               "duties": {"destruction": None}}
    pack, problems = jurisdiction.with_overlay(base, overlay)
    assert problems == []
    assert pack.settings["violation_report_days"] == 7 and "destruction" not in pack.duties
    assert pack.forms["role_transfer"].title == "職務異動（社會局）"
    assert pack.forms["role_transfer"].fields == base.forms["role_transfer"].fields  # merged, not replaced whole
    assert jurisdiction.with_overlay(base, {"duties": {"x": {"every": "week", "day": 1}}})[1] == [
        "duties.x: every 'week' is not a rhythm; the rhythms are month, quarter, half_year, year"]


def test_the_earlier_rules_under_history_are_checked_too(tmp_path):
    with edited_pack(tmp_path, "old"):
        old = tmp_path / "old" / "history" / "2017" / "querier_account.bpmn"
        old.write_text(old.read_text("utf-8").replace('name="unit_head"', 'name="section_chief"'), "utf-8")
    assert jurisdiction.check_pack("old", tmp_path) == [
        "history/2017/querier_account.bpmn: lane 'section_chief' names a role the pack does not list"]


def test_the_forms_the_core_opens_itself_are_in_every_pack(tmp_path):
    with edited_pack(tmp_path, "bare") as pack:
        del pack["forms"]["violation"]
    (tmp_path / "common.yaml").write_text("step_forms: {review: {decisions: [approve, reject, return]}}\n", "utf-8")
    problems = jurisdiction.check_pack("bare", tmp_path)
    assert "forms.violation: missing; the core opens it itself (copy Kaohsiung's and its diagram)" in problems
    assert "step_forms.amend: missing; the core falls back on it (common.yaml has it)" in problems


def test_the_administrator_needs_no_role_of_the_pack(tmp_path):
    with edited_pack(tmp_path, "lean") as pack:
        del pack["roles"]["admin"]
    assert jurisdiction.check_pack("lean", tmp_path) == []


def test_the_start_builds_the_pack_and_its_layers_once(monkeypatch):
    """create_app checks the pack and its layers, then activates it: the activation takes what the checks built."""
    from workflows import agency_rules

    assert jurisdiction.check_pack("kaohsiung", ROOT / "bpmn") == []
    assert agency_rules.check_layers("kaohsiung", ROOT / "bpmn") == []
    checked = jurisdiction.checked_pack("kaohsiung", ROOT / "bpmn")[0]

    def built_again(*_args, **_kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr(jurisdiction, "load_pack", built_again)
    monkeypatch.setattr(agency_rules, "parse_layer", built_again)
    assert jurisdiction.activate("kaohsiung", ROOT / "bpmn") is checked
    assert agency_rules.LAYERS["KHH-SW"].settings["single_manager_rule"]
    assert agency_rules.check_layers("kaohsiung", ROOT / "bpmn") == []


def test_a_step_deciding_item_by_item_names_a_multichoice_field_of_the_pack(tmp_path):
    with edited_pack(tmp_path, "items") as pack:
        pack["step_forms"]["account_setup"]["per_item"] = "itemz"
        pack["step_forms"]["apply_items"]["per_item"] = "reason"  # a text field, not a list of items
    assert jurisdiction.check_pack("items", tmp_path) == [
        "step_forms.account_setup: per_item 'itemz' is no multichoice field of the pack's forms",
        "step_forms.apply_items: per_item 'reason' is no multichoice field of the pack's forms"]
    sound = jurisdiction.active().step_forms["account_setup"]
    assert sound.per_item == "items"  # Kaohsiung's 附表三: the manager decides each requested item
    assert [f.name for f in sound.fields][-2:] == ["granted_items", "refused_items"]  # what the sheet prints


def test_a_malformed_rows_field_is_refused_with_the_reason(tmp_path):
    with edited_pack(tmp_path, "rowsy") as pack:
        fields = pack["forms"]["query_registration"]["fields"]
        rows = next(f for f in fields if f["type"] == "rows")
        rows["max_rows"] = 0
        rows["columns"][0]["type"] = "attachment"  # a row holds values, not files
        rows["columns"][4]["required_when"] = {"item": ["C0101"]}
        del rows["columns"][1]["label"]
        fields[0]["max_rows"] = 5  # case_number: not a rows field
    where = "forms.query_registration.fields[1] (rows)"
    assert sorted(jurisdiction.check_pack("rowsy", tmp_path)) == sorted([
        f"{where}: max_rows is a whole number from 1 to 100, got 0",
        f"{where}.columns[1] (subject_name): no label",
        f"{where}.columns (query_date): a column cannot be of type attachment",
        f"{where}.columns (reason): a column cannot be required_when",
        "forms.query_registration.fields[0] (case_number): max_rows belongs to a rows field only",
    ])
    with edited_pack(tmp_path, "bare") as pack:
        rows = next(f for f in pack["forms"]["query_registration"]["fields"] if f["type"] == "rows")
        rows["columns"], rows["min_rows"] = [], 11
    assert sorted(jurisdiction.check_pack("bare", tmp_path)) == [
        f"{where}: a rows field needs columns (a list of fields)",
        f"{where}: min_rows (11) is more than max_rows (10)"]
