"""One agency's own rules layered on the city's (docs/jurisdictions.md, "One agency's own rules").

``bpmn/kaohsiung/agencies/<code>/pack.yaml`` adds forms, step forms and lanes, replaces a city form for that agency's
filers (same key, its own diagram with its own process id in the folder) and sets that agency's settings, without
repeating what it does not change. Loading it registers the added forms in ``forms.FORMS``, the replacements in
``forms.AGENCY_FORMS`` and the step forms in ``forms.STEP_FORMS``; ``layer_problems`` lists everything wrong with a
layer (all of it, not only the first), as the city's pack is checked. Deploying the city's diagrams deploys each
layer's too and maps a replaced form to the layer's process for that agency's filers
(``editor.deploy.deploy_directory``, the ``form_chain`` table with an agency).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from models import QUERY_ITEMS, ROLE_LABELS

from .forms import (
    FIELD_TYPES,
    FORMS,
    ITEM_CHOICES,
    STEP_FORMS,
    Field,
    FormSpec,
    StepForm,
    item_choices,
    registration_check,
)

AGENCIES_DIR = Path(__file__).resolve().parents[1] / "bpmn" / "kaohsiung" / "agencies"

# Who may file a form a layer adds: the layer's own agency, or the agencies it commissions (003 §5 ¶3).
FILERS = ("own", "commissioned")
# What the code reads of a city form a layer replaces (filing checks, effects, the query-log match): kept by name.
READS = {
    "querier_account": ("request_type", "name", "national_id", "egov_account", "items", "reason"),
    "query_registration": ("case_number", "query_date", "subject_name", "subject_national_id", "item", "reason",
                           "legal_basis", "use_until"),
}
# The lanes a layer may add beyond the city's roles: the code resolves each from the application
# (runtime.candidates): a layer naming another is refused.
LANE_ROLES = {
    "manager_unit_head": "the unit head of the unit of the agency's manager (權限管理單位主管)",
    "responsible_querier": "a querier of the commissioning agency's responsible unit",
    "responsible_unit_head": "the unit head of the commissioning agency's responsible unit",
    "audited_querier": "the querier the form names in its querier field",
    "audited_unit_head": "the unit head of that querier",
}
SETTINGS = ("violation_report_days", "single_manager_rule", "responsible_unit")
PER_ITEM_CHOICES = (("grant", "准予"), ("refuse", "不同意"))


class LayerError(ValueError):
    """An agency layer the app cannot run, with every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("；".join(problems))
        self.problems = problems


def _subjects_check(data: dict[str, Any]) -> dict[str, str]:
    """附表3: each listed subject has a name and an ID number; the count covers everyone listed."""
    errors: dict[str, str] = {}
    listed = 0
    for prefix in ("subject", "subject_2", "subject_3"):
        name, number = data.get(f"{prefix}_name"), data.get(f"{prefix}_national_id")
        if bool(name) != bool(number):
            errors[f"{prefix}_national_id" if name else f"{prefix}_name"] = "姓名與 ID 須成對填寫"
        listed += bool(name and number)
    if not errors and (data.get("record_count") or 0) < max(listed, 1):
        errors["record_count"] = f"查調筆數不可少於列出之 {max(listed, 1)} 筆"
    return errors


def _audit_check(data: dict[str, Any]) -> dict[str, str]:
    if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
        return {"period_to": "稽核期間迄日不可早於起日"}
    return {}


# Validators a layer names by key (``check:``), as the city's forms name theirs.
CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "registration": registration_check,
    "query_request": _subjects_check,
    "audit_record": _audit_check,
}


@dataclass(frozen=True)
class AgencyLayer:
    code: str
    name: str
    directory: Path
    roles: dict[str, str]
    settings: dict[str, Any]
    forms: dict[str, FormSpec]  # every form of the layer: the added ones and its versions of city forms
    processes: dict[str, str]  # form key → the process id of the layer's diagram for it
    replaces: frozenset[str]  # the city forms it replaces for its own filers
    filers: dict[str, str]  # added form → "own" | "commissioned"
    step_forms: dict[str, StepForm]
    per_item: dict[str, str]  # step form → the form's multichoice field decided item by item
    duty_sources: dict[str, str] = field(default_factory=dict)  # a city duty → the clause of this layer ordering it


def _choices(raw: Any, problems: list[str], where: str) -> tuple[tuple[str, str], ...]:
    if raw == "query_items":
        return ITEM_CHOICES
    if isinstance(raw, list):  # item codes in the sheet's order; ``other``: every item the list does not name
        named = [c for c in raw if c != "other"]
        if unknown := [c for c in named if c not in QUERY_ITEMS]:
            problems.append(f"{where}：未知的查調項目 {', '.join(map(str, unknown))}")
        rest = [c for c in QUERY_ITEMS if c not in named] if "other" in raw else []
        return item_choices([*named, *rest])
    if isinstance(raw, dict):
        return tuple((str(k), str(v)) for k, v in raw.items())
    return ()


def _field(raw: Any, problems: list[str], where: str) -> Field | None:
    if not isinstance(raw, dict) or not raw.get("name") or not raw.get("label"):
        problems.append(f"{where}：欄位須有 name 與 label")
        return None
    name, kind = str(raw["name"]), raw.get("type")
    where = f"{where}.{name}"
    if kind not in FIELD_TYPES:
        problems.append(f"{where}：欄位型態「{kind}」不是已知型態（可用：{'、'.join(FIELD_TYPES)}）")
        return None
    choices = _choices(raw.get("choices"), problems, where)
    if kind == "choice" and not choices:
        problems.append(f"{where}：選項欄位沒有選項")
    if kind == "multichoice" and not choices and "choices" in raw:
        problems.append(f"{where}：複選欄位沒有選項")
    required_when = None
    if raw.get("required_when"):
        (other, values), = raw["required_when"].items()
        required_when = (str(other), tuple(str(v) for v in values))
    return Field(name, str(raw["label"]), kind, required=bool(raw.get("required")), choices=choices,
                 help=str(raw.get("help", "")), required_when=required_when, sensitive=bool(raw.get("sensitive")),
                 max_length=raw.get("max_length"))


def _fields(raws: Any, problems: list[str], where: str, extra_names: tuple[str, ...] = ()) -> tuple[Field, ...]:
    fields = tuple(f for i, raw in enumerate(raws or ()) if (f := _field(raw, problems, f"{where}[{i}]")))
    names = {f.name for f in fields} | set(extra_names)
    for f in fields:
        if f.required_when and f.required_when[0] not in names:
            problems.append(f"{where}.{f.name}：required_when 指向不存在的欄位「{f.required_when[0]}」")
    return fields


def _read(directory: Path) -> tuple[dict[str, Any], list[str]]:
    path = directory / "pack.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return {}, [f"{path}：無法讀取（{exc}）"]
    if not isinstance(raw, dict):
        return {}, [f"{path}：內容須為對照表"]
    return raw, []


def parse_layer(directory: Path) -> tuple[AgencyLayer | None, list[str]]:
    """The layer in ``directory`` and every problem found in it (a layer with problems is not usable)."""
    raw, problems = _read(directory)
    if not raw:
        return None, problems
    code = str(raw.get("agency") or directory.name)
    if code != directory.name:
        problems.append(f"{directory.name}/pack.yaml：agency「{code}」與資料夾名稱不同")
    roles = {str(k): str(v) for k, v in (raw.get("roles") or {}).items()}
    if unknown := sorted(set(roles) - set(LANE_ROLES)):
        problems.append(f"{code}：程式無法決定泳道角色 {', '.join(unknown)} 由誰辦理（可用：{'、'.join(LANE_ROLES)}）")
    settings = dict(raw.get("settings") or {})
    if unknown := sorted(set(settings) - set(SETTINGS)):
        problems.append(f"{code}：未知的設定 {', '.join(unknown)}（可用：{'、'.join(SETTINGS)}）")
    if "violation_report_days" in settings and (not isinstance(settings["violation_report_days"], int)
                                                or not 1 <= settings["violation_report_days"] <= 365):
        problems.append(f"{code}：violation_report_days 須為 1 至 365 之整數")
    forms, processes, filers = {}, {}, {}
    replaces = set()
    for key, spec in (raw.get("forms") or {}).items():
        where = f"{code}.forms.{key}"
        spec = spec or {}
        fields = _fields(spec.get("fields"), problems, where)
        names = {f.name for f in fields}
        if key in FORMS and key not in _added:
            replaces.add(key)
            if lost := [n for n in READS.get(key, ()) if n not in names]:
                problems.append(f"{where}：取代市府表單時須保留程式讀取的欄位 {', '.join(lost)}")
        elif spec.get("filers", "own") not in FILERS:
            problems.append(f"{where}：filers「{spec.get('filers')}」不是 {'、'.join(FILERS)} 之一")
        else:
            filers[key] = spec.get("filers", "own")
        check = spec.get("check")
        if check is not None and check not in CHECKS:
            problems.append(f"{where}：check「{check}」在程式中不存在（可用：{'、'.join(CHECKS)}）")
        requester = spec.get("requester_field")
        if requester is not None and requester not in names:
            problems.append(f"{where}：requester_field「{requester}」不是本表單的欄位")
        for attr in ("summary_fields", "key_fields"):
            if missing := [n for n in spec.get(attr) or () if n not in names]:
                problems.append(f"{where}：{attr} 指向不存在的欄位 {', '.join(missing)}")
        processes[key] = str(spec.get("process") or key)
        if not (directory / f"{processes[key]}.bpmn").is_file():
            problems.append(f"{where}：資料夾中沒有流程圖 {processes[key]}.bpmn")
        if not spec.get("title") or not spec.get("source"):
            problems.append(f"{where}：須有 title 與 source")
        forms[key] = FormSpec(key, str(spec.get("title", key)), str(spec.get("source", "")), fields,
                              filer_role=spec.get("filer_role"), check=CHECKS.get(check),
                              summary_fields=tuple(spec.get("summary_fields") or ()),
                              key_fields=tuple(spec.get("key_fields") or ()), requester_field=requester)
    step_forms, per_item = {}, {}
    for key, spec in (raw.get("step_forms") or {}).items():
        where = f"{code}.step_forms.{key}"
        spec = spec or {}
        if key in STEP_FORMS and key not in _installed:
            problems.append(f"{where}：與市府的步驟表單同名")
        decisions = tuple(spec.get("decisions") or ())
        if not decisions or set(decisions) - {"approve", "reject", "return"}:
            problems.append(f"{where}：decisions 須為 approve、reject、return 中的一或多項")
        fields = _fields(spec.get("fields"), problems, where, extra_names=("decision",))
        if spec.get("per_item"):
            per_item[key] = str(spec["per_item"])
            fields += (Field("granted_items", "准予之項目", "multichoice", choices=ITEM_CHOICES),
                       Field("refused_items", "不同意之項目及原因", "text"))
        step_forms[key] = StepForm(key, decisions, fields, approve_label=str(spec.get("approve_label", "同意")))
    for step, form_field in per_item.items():
        owners = [f for f in forms.values() if any(x.name == form_field and x.type == "multichoice" for x in f.fields)]
        if not owners:
            problems.append(f"{code}.step_forms.{step}：per_item「{form_field}」不是本層任何表單的複選欄位")
    duty_sources = {str(k): str((v or {}).get("source", "")) for k, v in (raw.get("duties") or {}).items()}
    layer = AgencyLayer(code, str(raw.get("name", code)), directory, roles, settings, forms, processes,
                        frozenset(replaces), filers, step_forms, per_item, duty_sources)
    return layer, problems


_installed: set[str] = set()  # step forms a layer registered (parsing the layer again is no collision)
_added: set[str] = set()  # forms a layer added to the catalogue (a layer parsed again adds them, not replaces)
LAYERS: dict[str, AgencyLayer] = {}


def install(layer: AgencyLayer) -> None:
    """Register a layer's forms and step forms in the catalogue (once per agency)."""
    from .forms import AGENCY_FORMS

    LAYERS[layer.code] = layer
    for role, label in layer.roles.items():  # a lane's name where steps and sign-offs are shown
        ROLE_LABELS.setdefault(role, label)
    for key, form in layer.forms.items():
        if key in layer.replaces:
            AGENCY_FORMS.setdefault(layer.code, {})[key] = (layer.processes[key], form)
        else:
            FORMS[key] = form
            _added.add(key)
    for key, step in layer.step_forms.items():
        STEP_FORMS[key] = step
        _installed.add(key)


def layer_problems(directory: Path | None = None) -> list[str]:
    """Every problem of every agency layer under ``directory`` (the shipped ones by default)."""
    problems: list[str] = []
    for folder in sorted(p for p in (directory or AGENCIES_DIR).glob("*") if (p / "pack.yaml").is_file()):
        problems += parse_layer(folder)[1]
    return problems


def load_layers(directory: Path = AGENCIES_DIR) -> None:
    """Load and install every agency layer; refuse them all with every problem listed."""
    layers, problems = [], []
    for folder in sorted(p for p in directory.glob("*") if (p / "pack.yaml").is_file()):
        layer, found = parse_layer(folder)
        problems += found
        if layer:
            layers.append(layer)
    if problems:
        raise LayerError(problems)
    for layer in layers:
        install(layer)


# ---------------------------------------------------------------- reads for the rest of the core

def derived_roles() -> dict[str, str]:
    return {role: label for layer in LAYERS.values() for role, label in layer.roles.items()}


def layer_of(agency_code: str | None) -> AgencyLayer | None:
    return LAYERS.get(agency_code or "")


def owner_of(form_key: str) -> AgencyLayer | None:
    """The layer that added this form (not one that replaces a city form), or None."""
    return next((layer for layer in LAYERS.values() if form_key in layer.filers), None)


def open_to(form_key: str, agency_code: str | None, commissioned_by: str | None) -> bool:
    """Whether a person of this agency (commissioned by ``commissioned_by``) may file the form at all."""
    layer = owner_of(form_key)
    if layer is None:
        return True
    if layer.filers[form_key] == "commissioned":
        return commissioned_by == layer.code
    return agency_code == layer.code


def setting(agency_code: str | None, name: str, default: Any = None) -> Any:
    layer = layer_of(agency_code)
    return layer.settings.get(name, default) if layer else default


def per_item_fields(step_key: str, requested: list[str]) -> tuple[Field, ...]:
    """Two fields per requested item: 准予 or 不同意, and why it is refused."""
    fields: list[Field] = []
    for code in requested:
        label = f"{code} {QUERY_ITEMS.get(code, '')}"
        fields += [
            Field(f"item_{code}", label, "choice", required=True, choices=PER_ITEM_CHOICES,
                  required_when=("decision", ("approve",))),
            Field(f"item_{code}_reason", f"{code}：不同意原因", "string", required=True,
                  required_when=(f"item_{code}", ("refuse",))),
        ]
    return tuple(fields)


def per_item_check(requested: list[str]) -> Callable[[dict[str, Any]], dict[str, str]]:
    def check(data: dict[str, Any]) -> dict[str, str]:
        # Nothing answered: not an approval (an approval without answers already failed as required fields).
        answered = [data.get(f"item_{c}") for c in requested if data.get(f"item_{c}")]
        if answered and "grant" not in answered:
            return {f"item_{requested[0]}": "未准予任何項目時，請選擇「不同意」並填寫原因"}
        return {}
    return check


def per_item_record(requested: list[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Fold the per-item answers into what the account and the sheet read: the granted items, the refusals."""
    def record(data: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in data.items() if not k.startswith("item_")}
        if not requested or not any(f"item_{c}" in data and data[f"item_{c}"] for c in requested):
            return out
        out["granted_items"] = [c for c in requested if data.get(f"item_{c}") == "grant"]
        refused = [f"{c} {QUERY_ITEMS.get(c, '')}：{data.get(f'item_{c}_reason') or ''}"
                   for c in requested if data.get(f"item_{c}") == "refuse"]
        out["refused_items"] = "；".join(refused) or None
        return out
    return record


def requested_items(step_key: str, data: dict[str, Any]) -> list[str] | None:
    """The items an application asks for when ``step_key`` decides them one by one; None for other steps."""
    layer = next((la for la in LAYERS.values() if step_key in la.per_item), None)
    return list(data.get(layer.per_item[step_key]) or []) if layer else None


load_layers()
