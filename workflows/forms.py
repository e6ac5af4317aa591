"""The official forms and the per-step forms, described once as data.

The web layer builds WTForms classes from these descriptions and the API
publishes them; both validate through ``clean_fields`` so a rule lives once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from models import QUERY_ITEMS
from models.sealing import each_named

from . import validators as v

FIELD_TYPES = ("string", "text", "email", "phone", "date", "boolean", "choice", "multichoice",
               "national_id", "ipv4", "integer", "attachment",
               # a statute of the filer's agency's legal-basis table (001 附表); another one only with a reason in
               # the form's field <name>_reason, and then marked <name>_not_listed (filing.applications)
               "legal_basis",
               # a table of rows, each row the ``columns``' fields (000 附表一: one line per subject and item)
               "rows")
MAX_FIELD_FILES = 10  # attachments one field of a form may name
ITEM_CHOICES = tuple((code, f"{code} {name}") for code, name in QUERY_ITEMS.items())


def item_choices(codes) -> tuple[tuple[str, str], ...]:
    """Choices for some of the 20 items, in the order given."""
    return tuple((c, f"{c} {QUERY_ITEMS[c]}") for c in codes if c in QUERY_ITEMS)

MAX_TEXT = 2000


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    # Required only when another field holds one of these values, e.g. {"request_type": ("add",)}.
    required_when: tuple[str, tuple[str, ...]] | None = None
    sensitive: bool = False  # personal data: masked where not needed
    max_length: int | None = None  # when a column keeps it: shorter than text (2000) or a line (200)
    source: str = ""  # the clause the field comes from
    attestation: bool = False  # a statement the filer must tick, printed with its clause
    computed: bool = False  # set by the code from the records, never asked (e.g. what goes to 勞保局, 000 附表四)
    # A rows field: what each row holds, and how many rows a sheet may carry (trailing blank rows are dropped).
    columns: tuple[Field, ...] = ()
    min_rows: int = 0
    max_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type,
                               "required": self.required}
        if self.choices:
            out["choices"] = [{"value": c, "label": label} for c, label in self.choices]
        if self.help:
            out["help"] = self.help
        if self.source:
            out["source"] = self.source
        if self.attestation:
            out["attestation"] = True
        if self.computed:
            out["computed"] = True
        if self.type == "rows":
            out.update(columns=[c.as_dict() for c in self.columns], min_rows=self.min_rows, max_rows=self.max_rows)
        return out


def with_columns(fields: Iterable[Field]) -> Iterator[Field]:
    """Each field and, after a rows field, its columns: every field a form's data may hold, a line's too."""
    for f in fields:
        yield f
        yield from f.columns


@dataclass(frozen=True)
class FormSpec:
    key: str
    title: str
    source: str
    fields: tuple[Field, ...]
    filer_role: str | None = None  # None: any staff member may file
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None
    summary_fields: tuple[str, ...] = ()
    # What an approver must see in the inbox row to know what is asked without opening it (ID numbers masked).
    key_fields: tuple[str, ...] = ()
    effect: str | None = None  # what an approval changes (workflows/accounts/effects.py EFFECTS), by name
    # A field naming (by username) a colleague the application is filed for, who may then see it (003 §5 ¶2).
    requester_field: str | None = None


DECISION_LABELS = {
    "approve": "同意",
    "reject": "不同意",
    "return": "退回補正",
    "resubmit": "補正後重新送出",
    "withdraw": "撤回申請",
    "send_back": "退回前關",
    "recall": "取回",
}


@dataclass(frozen=True)
class StepForm:
    """What a step asks beyond the opinion: its decisions and extra fields."""

    key: str
    decisions: tuple[str, ...]
    fields: tuple[Field, ...] = ()
    approve_label: str = "同意"
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None
    # The form's multichoice field this step decides item by item (a pack's ``per_item``: 000 附表三's item sheet
    # 審核結果, 003 附表1): bound per requested item by ``per_item_fields``, kept by ``per_item_record``.
    per_item: str | None = None


# A per-item step's answers for each requested item, and what they are kept as (the account and the sheet read it).
PER_ITEM_CHOICES = (("grant", "准予"), ("refuse", "不同意"))
PER_ITEM_RECORDED = (Field("granted_items", "准予之項目", "multichoice", choices=ITEM_CHOICES),
                     Field("refused_items", "不同意之項目及原因", "text"))


def per_item_fields(requested: list[str]) -> tuple[Field, ...]:
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
        """An approval grants at least one item (refusing them all is 不同意, with the reason)."""
        answered = [data.get(f"item_{c}") for c in requested]
        if requested and data.get("decision") == "approve" and "grant" not in answered:
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


def requested_items(step: StepForm, data: dict[str, Any]) -> list[str] | None:
    """The items an application asks for when ``step`` decides them one by one; None for other steps."""
    return list(data.get(step.per_item) or []) if step.per_item else None


SCHEDULER = "scheduler"  # no person holds this role: duties are started by the scheduler, never filed

# The forms and step forms of the active jurisdiction pack (bpmn/<key>/pack.yaml, with bpmn/common.yaml), filled in
# place by workflows.jurisdiction.activate: Kaohsiung's from import, another city's when its deployment chooses it.
FORMS: dict[str, FormSpec] = {}
STEP_FORMS: dict[str, StepForm] = {}

_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "email": v.email, "phone": v.phone, "date": v.iso_date, "national_id": v.national_id,
    "ipv4": v.ipv4, "integer": v.integer,
}


def _is_blank(value: Any) -> bool:
    # Whitespace only counts as empty, so a required field cannot be satisfied by spaces.
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value is False


def _required(f: Field, data: dict[str, Any]) -> bool:
    if not f.required:
        return False
    if f.required_when is None:
        return True
    other, values = f.required_when
    return data.get(other) in values


def _clean_one(f: Field, value: Any, choices: tuple[tuple[str, str], ...]) -> Any:
    allowed = {c for c, _ in choices}
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise v.FieldError("請勾選或取消勾選")
        return value
    if f.type == "multichoice":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise v.FieldError("請提供選項清單")
        bad = [x for x in value if x not in allowed]
        if bad:
            raise v.FieldError(f"不在可選範圍內：{', '.join(bad)}")
        order = [c for c, _ in choices]
        return sorted(set(value), key=order.index)
    if f.type == "attachment":
        return _attachment_ids(value)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise v.FieldError("格式不正確")
    if f.type == "choice":
        if value not in allowed:
            raise v.FieldError("不在可選範圍內")
        return value
    if f.type in _CLEANERS:  # a JSON number where text is due (a phone, a date) is read as its text
        return _CLEANERS[f.type](value if f.type == "integer" else str(value))
    text = str(value).strip()
    if len(text) > (f.max_length or (MAX_TEXT if f.type == "text" else 200)):
        raise v.FieldError("內容過長")
    return text


def _attachment_ids(value: Any) -> list[int]:
    """An attachment field holds the ids of uploaded files: one id or a list (numbers or their text)."""
    values = value if isinstance(value, list) else [value]
    ids = []
    for x in values:
        if isinstance(x, str) and x.strip().isdigit() and len(x.strip()) < 10:
            x = int(x)
        if not isinstance(x, int) or isinstance(x, bool) or not 0 < x < 2**31:
            raise v.FieldError("須為已上傳附件的編號")
        ids.append(x)
    if len(ids) > MAX_FIELD_FILES:
        raise v.FieldError(f"最多 {MAX_FIELD_FILES} 個附件")
    return sorted(set(ids))


def attachment_ids(fields: tuple[Field, ...], data: dict[str, Any]) -> dict[str, list[int]]:
    """{field name: attachment ids} of a form's cleaned data."""
    return {f.name: list(data.get(f.name) or []) for f in fields if f.type == "attachment"}


def clean_fields(fields: tuple[Field, ...], data: dict[str, Any],
                 choices: dict[str, tuple[tuple[str, str], ...]] | None = None,
                 context: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate raw values; return the cleaned data and {field name: message}."""
    choices = choices or {}
    ctx = {**(context or {}), **data}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        value = data.get(f.name)
        if f.type == "rows":
            clean[f.name], row_errors = _clean_rows(f, value)
            errors.update(row_errors)
            continue
        if _is_blank(value) and f.type != "boolean":
            if _required(f, ctx):
                errors[f.name] = f"「{f.label}」為必填"
            clean[f.name] = [] if f.type in ("multichoice", "attachment") else None
            continue
        try:
            clean[f.name] = _clean_one(f, False if value is None else value, choices.get(f.name, f.choices))
        except v.FieldError as exc:
            errors[f.name] = f"「{f.label}」{exc}"
            continue
        if f.type == "boolean" and _required(f, ctx) and not clean[f.name]:
            errors[f.name] = f"「{f.label}」須勾選確認"
    unknown = set(data) - {f.name for f in fields}
    for name in sorted(unknown):
        errors[name] = f"未知的欄位：{name}"
    return clean, errors


def row_key(field: str, line: int, column: str | None = None) -> str:
    """Where a row's value is named in errors and reveals: ``rows[3].subject_national_id`` (lines count from 1)."""
    return f"{field}[{line}]" + (f".{column}" if column else "")


_ROW_KEY = re.compile(r"^(\w+)\[(\d{1,3})\](?:\.(\w+))?$")


def parse_row_key(key: str) -> tuple[str, int, str | None] | None:
    """``row_key`` read back: (field, line, column or None for the line as a whole); None for any other name."""
    m = _ROW_KEY.match(key)
    return (m[1], int(m[2]), m[3]) if m else None


def _blank_row(row: Any) -> bool:
    return isinstance(row, dict) and all(_is_blank(x) for x in row.values())


def _clean_rows(f: Field, value: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A rows field's rows, each cleaned by its columns; errors name the line and the column."""
    if value is None:
        value = []
    if not isinstance(value, list):
        return [], {f.name: f"「{f.label}」須為逐筆資料的清單"}
    rows = list(value)
    while rows and _blank_row(rows[-1]):  # the page's unused row slots
        rows.pop()
    errors: dict[str, str] = {}
    least = max(f.min_rows, 1 if f.required else 0)
    if len(rows) < least:
        errors[f.name] = f"「{f.label}」至少須填 {least} 筆"
    if f.max_rows and len(rows) > f.max_rows:
        return [], {f.name: f"「{f.label}」最多 {f.max_rows} 筆"}
    clean = []
    for line, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors[row_key(f.name, line)] = f"第 {line} 筆格式不正確"
            continue
        cleaned, row_errors = clean_fields(f.columns, row)
        clean.append(cleaned)
        errors.update({row_key(f.name, line, name): f"第 {line} 筆{message}" for name, message in row_errors.items()})
    return clean, errors


def sheet_rows(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A 查調資料登記表's rows (subject, item, date, reason): its ``rows``, or the one subject of a form that
    carries a single one (an agency's own sheet, another city's, or one filed before the sheet had rows)."""
    data = data or {}
    if isinstance(data.get("rows"), list):
        return [r for r in data["rows"] if isinstance(r, dict)]
    if data.get("subject_national_id") or data.get("item"):
        return [{k: data.get(k) for k in ROW_COLUMNS}]
    return []


REGISTRATION = "query_registration"  # 查調資料登記表 (000 附表一): the sheet a logged query is matched to
ROW_COLUMNS = ("query_date", "subject_name", "subject_national_id", "item", "reason")


def engine_values(form: FormSpec, data: dict[str, Any]) -> dict[str, Any]:
    """What a chain's engine keeps of a form: everything but ID numbers, which no diagram reads.

    The engine's saved state is not sealed; the number stays only in the application's own (sealed) data.
    """
    ids = {f.name for f in form.fields if f.type == "national_id"}
    out = {k: value for k, value in data.items() if k not in ids}
    for f in form.fields:
        if f.type == "rows" and isinstance(out.get(f.name), list):
            hidden = {c.name for c in f.columns if c.type == "national_id"}
            out[f.name] = [{k: x for k, x in row.items() if k not in hidden} for row in out[f.name]]
    return out


def clean_form(form: FormSpec, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    clean, errors = clean_fields(form.fields, data)
    if not errors and form.check:
        errors.update(form.check(clean))
    return clean, errors


@dataclass(frozen=True)
class KeyValue:
    """One key field of a filed form as a row shows it: its label, its type and its value made readable."""

    name: str
    label: str
    type: str
    value: Any


def key_values(form_key: str, data: dict[str, Any] | None, process: str | None = None) -> list[KeyValue]:
    """The form's key fields from its data, ID numbers masked, choices as their labels, item codes as codes.

    ``process``: the key of the process the application runs, whose form it was filed on (an agency layer's own
    form has its own key fields, e.g. 社會局's 附表2 and its 需要資料者)."""
    if form_key not in FORMS or not data:
        return []
    form = form_for(form_key, None, process)
    fields = {f.name: f for f in form.fields}
    out = []
    for name in form.key_fields:
        f, value = fields[name], data.get(name)
        if value in (None, "", []):
            continue
        if f.type == "national_id" and isinstance(value, str):
            value = mask_id(value)
        elif f.type == "choice" and f.choices:
            value = dict(f.choices).get(value, value)
        elif f.type == "multichoice" and isinstance(value, list):
            value = "、".join(str(v) for v in value)
        elif f.type == "rows" and isinstance(value, list):
            value = "；".join(_row_summary(f, r) for r in value if isinstance(r, dict))
        out.append(KeyValue(name, f.label.split("（")[0], f.type, value))  # the label without its explanation
    return out


def _row_summary(f: Field, row: dict[str, Any]) -> str:
    """One row as the inbox shows it: its values in column order, ID numbers masked, dates left out."""
    parts = [mask_id(row[c.name]) if c.type == "national_id" else dict(c.choices).get(row[c.name], row[c.name])
             if c.type == "choice" else str(row[c.name]) for c in f.columns if row.get(c.name) and c.type not in (
             "date", "text")]
    return " ".join(parts)


def decision_label(step: StepForm, decision: str) -> str:
    return step.approve_label if decision == "approve" else DECISION_LABELS[decision]


# ---------------------------------------------------------------- personal numbers

def mask_id(value: str | None) -> str:
    """A123456789 → A12****789: enough to recognise, not enough to misuse.

    The one masking rule: pages (the ``mask_id`` filter), the JSON API and exports all show this.
    """
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 6) + value[-3:] if len(value) > 6 else "*" * len(value)


def sensitive_fields(form_key: str) -> tuple[Field, ...]:
    """The fields of a form holding personal numbers (national ID numbers), a rows field's columns included."""
    form = FORMS.get(form_key)
    if not form:
        return ()
    return tuple(f for f in with_columns(form.fields) if f.sensitive)


def _sensitive_names(form_key: str) -> set[str]:
    """The names holding personal numbers in any version of the form (the city's, an agency layer's)."""
    names = {f.name for f in sensitive_fields(form_key)}
    for forms in AGENCY_FORMS.values():
        if form_key in forms:
            names |= {f.name for f in with_columns(forms[form_key][1].fields) if f.sensitive}
    return names


def masked(form_key: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a form's data (or a step's, filed on that form) with its personal numbers masked.

    A 查調資料登記表 filed with one subject before the sheet had rows reads as a sheet of that one row."""
    names = _sensitive_names(form_key)
    if not data or not names:
        return data
    if form_key == REGISTRATION and "rows" not in data and data.get("subject_national_id") and any(
            f.type == "rows" for f in FORMS[form_key].fields):
        data = {**data, "rows": sheet_rows(data)}
    return each_named(data, names, mask_id)


def keep_masked(form_key: str, data: dict[str, Any], filed: dict[str, Any]) -> dict[str, Any]:
    """Corrected data where a personal number left as shown (masked) keeps the number filed before (in a row:
    the number the same line held)."""
    names = _sensitive_names(form_key)
    out = dict(data)
    for name in names:
        if filed.get(name) and out.get(name) == mask_id(filed[name]):
            out[name] = filed[name]
    for key, rows in out.items():
        before = filed.get(key)
        if isinstance(rows, list) and isinstance(before, list):
            out[key] = [{k: before[i][k] if k in names and i < len(before) and isinstance(before[i], dict)
                         and before[i].get(k) and x == mask_id(before[i][k]) else x for k, x in row.items()}
                        if isinstance(row, dict) else row for i, row in enumerate(rows)]
    return out


# ---------------------------------------------------------------- one agency's own rules

# An agency layer's version of a city form, filled by its agency's process (agency code → form key → (the layer's
# process key, the form)): from ``agency_rules`` (``bpmn/<city>/agencies/<code>/pack.yaml``); the forms a layer adds
# are in FORMS itself.
AGENCY_FORMS: dict[str, dict[str, tuple[str, FormSpec]]] = {}


def form_for(form_key: str, agency_code: str | None = None, process: str | None = None) -> FormSpec:
    """The form as filed through ``process`` by a person of this agency: the agency layer's version where the
    process is the layer's own (an administrator may switch the agency back to the city's chain, and with it to
    the city's form), else the city's."""
    for code, forms in AGENCY_FORMS.items():  # process keys are unique: the process alone names the version
        own = forms.get(form_key)
        if own and own[0] == process and agency_code in (None, code):
            return own[1]
    return FORMS[form_key]


def application_form(app: Any) -> FormSpec:
    """The form an application was filed on: its agency's version when its process is the agency layer's."""
    return form_for(app.form_key, app.agency.code if app.agency else None,
                    app.definition_version.definition.key if app.definition_version else None)


def form_title(form_key: str, agency_code: str | None = None, process: str | None = None) -> str:
    return form_for(form_key, agency_code, process).title if form_key in FORMS else form_key
