"""Jurisdiction packs: everything one city's rule book decides, read from ``bpmn/<key>/`` (docs/jurisdictions.md).

A pack is ``pack.yaml`` (names of roles and agency kinds, forms, step forms, duties, settings) and ``demo.yaml``
(the demo organisation), beside the pack's diagrams; ``bpmn/common.yaml`` holds the step forms and field snippets
every pack may use. One deployment serves one jurisdiction: ``activate(key)`` makes a pack the process's active
one and fills in place what the code reads (``workflows.forms.FORMS`` / ``STEP_FORMS``, the role and agency-kind
labels, the roles a lane may name, the settings), then tells the floors above (the duty schedules, the demo) through
``on_activate``. Kaohsiung is active from import (``workflows/__init__.py``).

``check_pack(key)`` lists every problem of a pack, not only the first: the data's own (``load_pack``), its diagrams'
(lanes, step forms, a diagram for every form and duty) and its demo's. Validators, effects and duty targets stay
code, named from the data: the names the code offers are ``validators.FORM_CHECKS``, ``EFFECT_NAMES`` and
``TARGET_NAMES`` (kept equal to ``accounts.effects.EFFECTS`` and ``timers.duties.TARGETS`` by their tests).
"""

from __future__ import annotations

import calendar
import copy
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from models import QUERY_ITEMS, ROLE_LABELS, AgencyKind, Role

from . import forms
from .forms import DECISION_LABELS, FIELD_TYPES, SCHEDULER, Field, FormSpec, StepForm
from .settings import SETTINGS
from .validators import FORM_CHECKS

BPMN_ROOT = Path(__file__).resolve().parent.parent / "bpmn"
DEFAULT = "kaohsiung"
COMMON = "common.yaml"

# What an approval changes (workflows/accounts/effects.py EFFECTS) and who gets a duty's instances
# (workflows/timers/duties.py TARGETS), by name: the packs name them, the code carries them out.
EFFECT_NAMES = frozenset({"querier_account", "manager_account", "query_items_change", "account_review",
                          "items_review", "agency_admission", "agency_suspension", "role_transfer"})
TARGET_NAMES = frozenset({"requesting_agencies", "self_auditing_agencies", "central_agencies", "querier_accounts",
                          "unit_managers", "webir_account_holders", "commissioned_agencies"})
# Forms the core opens itself (a violation case and its joint audit, workflows/oversight/violations.py; the deletion
# confirmation a month after a registration's use ends, workflows/timers/deletions.py), and the step forms it falls
# back on (a user task without a form is a review; an amend step makes an application returned): every pack has them.
CORE_FORMS = ("violation", "joint_audit", "data_deletion")
CORE_STEP_FORMS = ("review", "amend")
RHYTHMS = ("month", "quarter", "half_year", "year")
MONTHS = {"month": tuple(range(1, 13)), "quarter": (1, 4, 7, 10), "half_year": (1, 7), "year": None}
ITEM_CHOICES = "query_items"  # a field's choices: the 20 WebIR items

# Filled in place by activate(): read by the code that imported them before a pack was chosen.
KIND_LABELS: dict[AgencyKind, str] = {}
KNOWN_ROLES: set[str] = set()
_GLOSSARY_ROLE_LABELS = dict(ROLE_LABELS)  # models' words, kept for the roles a pack does not rename
_GLOSSARY_KIND_LABELS = {AgencyKind.CENTRAL: "總管理機關", AgencyKind.AUTHORITY: "權責管理機關",
                         AgencyKind.REQUESTING: "資料需求機關", AgencyKind.BUREAU: "勞保局"}
_DEFAULT_SETTINGS = {"retention_years": dict(SETTINGS.retention_years),
                     "office_hours_only": SETTINGS.office_hours_only,
                     "office_hours": (SETTINGS.office_hours_start, SETTINGS.office_hours_end),
                     "password_change_months": SETTINGS.password_change_months,
                     "violation_report_days": SETTINGS.violation_report_days,
                     "contractor_rule": SETTINGS.contractor_rule,
                     "admission_rule": None,  # a city whose pack names no clause has no such bar
                     "account_forms_from_cancellation": SETTINGS.account_forms_from_cancellation}

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
       "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
_TOP = {"key", "name", "city", "rule_books", "agency_kinds", "roles", "settings", "forms", "step_forms", "duties"}
_FORM_KEYS = {"title", "source", "filer_role", "check", "effect", "summary_fields", "key_fields", "fields"}
_STEP_KEYS = {"decisions", "approve_label", "check", "fields", "per_item"}
_FIELD_KEYS = {"name", "label", "type", "required", "choices", "help", "required_when", "sensitive", "max_length",
               "source", "attestation", "computed", "use", "columns", "min_rows", "max_rows"}
_ROW_LIMIT = 100  # rows one sheet may carry at most (a page shows one slot per row)
_DUTY_KEYS = {"process", "title", "source", "every", "day", "month", "hour", "due_day", "targets", "off"}
_DEMO_KEYS = {"email_domain", "phone_prefix", "id_letter", "agencies", "people", "delegations", "querier_accounts",
              "manager_accounts", "legal_bases"}
_AGENCY_KEYS = {"code", "name", "kinds", "items", "admission", "commissioned_by", "oid"}
_PERSON_KEYS = {"username", "name", "title", "agency", "unit", "roles", "contractor"}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when PyYAML has it
    """yaml.safe_load as YAML 1.2 reads booleans: only true and false, so `off:` and `no:` stay words."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


class PackError(ValueError):
    """A pack that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, key: str, problems: list[str]):
        self.key, self.problems = key, list(problems)
        super().__init__(f"jurisdiction pack {key!r} has {len(problems)} problem(s):\n"
                         + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Duty:
    """A recurring duty: its process started by the scheduler once per period, for each target."""

    name: str
    process: str
    title: str
    source: str
    every: str  # month | quarter | half_year | year
    day: int
    month: int = 1  # year only
    hour: int = 9
    due_day: int | None = None  # its steps are due by this day of the start month
    targets: str = "requesting_agencies"
    off: bool = False  # shipped, but runs only where DUTY_SCHEDULES names it


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    kinds: tuple[str, ...]
    items: tuple[str, ...] = ()
    admission: tuple[str, str] | None = None  # (legal bases, purposes)
    commissioned_by: str | None = None
    oid: str | None = None


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    title: str
    agency: str
    unit: str
    roles: tuple[str, ...] = ()
    contractor: bool = False  # staff of an outsourced vendor (委外廠商, 002 §5(5))


@dataclass(frozen=True)
class Demo:
    email_domain: str
    phone_prefix: str
    id_letter: str
    agencies: tuple[DemoAgency, ...]
    people: tuple[DemoPerson, ...]
    delegations: tuple[tuple[str, str, str], ...] = ()  # (principal, delegate, role)
    querier_accounts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    manager_accounts: tuple[str, ...] = ()
    legal_bases: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (agency code, ((statute, purpose)…))


@dataclass(frozen=True)
class Pack:
    key: str
    name: str
    city: str
    directory: Path
    rule_books: Mapping[str, str]
    agency_kinds: Mapping[str, str]
    roles: Mapping[str, str]
    settings: Mapping[str, Any]
    forms: Mapping[str, FormSpec]
    step_forms: Mapping[str, StepForm]
    duties: Mapping[str, Duty]
    demo: Demo | None = None


# ---------------------------------------------------------------- reading

def pack_directory(key: str, root: Path | None = None) -> Path:
    if not isinstance(key, str) or not _KEY.match(key):
        raise PackError(str(key), [f"{key!r} is not a pack key (lower-case letters, digits, - and _)"])
    return (root or BPMN_ROOT) / key


def _read_yaml(path: Path, problems: list[str], *, required: bool = True) -> dict:
    if not path.is_file():
        if required:
            problems.append(f"{path.name}: missing ({path})")
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: not readable YAML: {exc}")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path.name}: expected a mapping at the top, got {type(data).__name__}")
        return {}
    return data


def read_raw(key: str, root: Path | None = None) -> tuple[dict, dict, dict, list[str]]:
    """The pack's pack.yaml, demo.yaml and the common.yaml beside it, as read, with the problems of reading."""
    directory = pack_directory(key, root)
    problems: list[str] = []
    if not directory.is_dir():
        return {}, {}, {}, [f"no pack folder {directory}"]
    pack = _read_yaml(directory / "pack.yaml", problems)
    demo = _read_yaml(directory / "demo.yaml", problems, required=False)
    common = _read_yaml(directory.parent / COMMON, problems, required=False)
    return pack, demo, common, problems


def merge(base: Mapping, overlay: Mapping) -> dict:
    """``overlay`` on top of ``base``: mappings merge key by key (recursively), anything else is replaced.

    An agency's own rules (``agencies/<code>/pack.yaml``) or a pack over ``common.yaml`` are merged this way: an
    entry of the overlay replaces the base's entry of the same key, whole, when it is not a mapping (a form's
    ``fields`` list is replaced, not appended to). ``None`` in the overlay removes the base's entry.
    """
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_pack(raw: Mapping, directory: Path, *, common: Mapping | None = None, demo: Mapping | None = None,
               problems: list[str] | None = None) -> Pack:
    """A pack from its read data; every problem is appended to ``problems`` (a pack is still built)."""
    problems = [] if problems is None else problems
    common = common or {}
    key = directory.name
    _unknown_keys(raw, _TOP, "pack.yaml", problems)
    if raw.get("key", key) != key:
        problems.append(f"pack.yaml: key {raw.get('key')!r} is not the folder's name {key!r}")
    roles = _labels(raw.get("roles"), "roles", problems)
    for role in roles:
        if role not in set(Role):
            problems.append(f"roles: {role!r} is not a role the code knows; the roles are "
                            f"{', '.join(r.value for r in Role)}")
    kinds = _labels(raw.get("agency_kinds"), "agency_kinds", problems)
    for kind in kinds:
        if kind not in set(AgencyKind):
            problems.append(f"agency_kinds: {kind!r} is not a kind the code knows; the kinds are "
                            f"{', '.join(k.value for k in AgencyKind)}")
    snippets = common.get("fields") or {}
    step_raw = {**(common.get("step_forms") or {}), **(_mapping(raw.get("step_forms"), "step_forms", problems))}
    pack = Pack(
        key=key, name=str(raw.get("name") or key), city=str(raw.get("city") or key), directory=directory,
        rule_books={str(k): str(v) for k, v in _mapping(raw.get("rule_books"), "rule_books", problems).items()},
        agency_kinds=kinds, roles=roles,
        settings=_settings(raw.get("settings"), problems),
        forms={k: _form(k, v, roles, snippets, problems)
               for k, v in _mapping(raw.get("forms"), "forms", problems).items()},
        step_forms={k: _step_form(k, v, snippets, problems) for k, v in step_raw.items()},
        duties={k: _duty(k, v, problems) for k, v in _mapping(raw.get("duties"), "duties", problems).items()},
        demo=_demo(demo, problems) if demo else None,
    )
    for key in CORE_FORMS:
        if key not in pack.forms:
            problems.append(f"forms.{key}: missing; the core opens it itself (copy Kaohsiung's and its diagram)")
    for key in CORE_STEP_FORMS:
        if key not in pack.step_forms:
            problems.append(f"step_forms.{key}: missing; the core falls back on it ({COMMON} has it)")
    multichoice = {f.name for form in pack.forms.values() for f in form.fields if f.type == "multichoice"}
    for key, step in pack.step_forms.items():
        if step.per_item and step.per_item not in multichoice:
            problems.append(f"step_forms.{key}: per_item {step.per_item!r} is no multichoice field of the pack's forms")
    for name, duty in pack.duties.items():
        if duty.process in pack.forms and pack.forms[duty.process].filer_role != SCHEDULER:
            problems.append(f"duties.{name}: its process {duty.process!r} is a form people file "
                            f"(a duty's form has filer_role: {SCHEDULER})")
    return pack


def load_pack(key: str, root: Path | None = None) -> tuple[Pack, list[str]]:
    """The pack and the problems of its data (not yet of its diagrams: ``check_pack`` adds those).

    PackError when there is no pack to build: a key that is not one, no folder.
    """
    raw, demo, common, problems = read_raw(key, root)
    if not pack_directory(key, root).is_dir():
        raise PackError(key, problems)
    pack = build_pack(raw, pack_directory(key, root), common=common, demo=demo, problems=problems)
    return pack, problems


def _unknown_keys(raw: Mapping, known: set[str], where: str, problems: list[str]) -> None:
    for name in raw:
        if name not in known:
            problems.append(f"{where}: unknown key {name!r}; the keys are {', '.join(sorted(known))}")


def _mapping(value: Any, where: str, problems: list[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: expected a mapping, got {value!r}")
        return {}
    return dict(value)


def _labels(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    out = {}
    for name, label in _mapping(value, where, problems).items():
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}.{name}: needs its name as text")
        out[str(name)] = str(label or name)
    return out


def _settings(value: Any, problems: list[str]) -> dict[str, Any]:
    raw = _mapping(value, "settings", problems)
    _unknown_keys(raw, set(_DEFAULT_SETTINGS), "settings", problems)
    out = {**copy.deepcopy(_DEFAULT_SETTINGS), **{k: v for k, v in raw.items() if k in _DEFAULT_SETTINGS}}
    years = out["retention_years"]
    if not isinstance(years, Mapping):
        problems.append(f"settings.retention_years: expected a mapping of record type to years, got {years!r}")
        out["retention_years"] = dict(_DEFAULT_SETTINGS["retention_years"])
    else:
        for kind, n in years.items():
            if kind not in _DEFAULT_SETTINGS["retention_years"]:
                problems.append(f"settings.retention_years: unknown record type {kind!r}; the types are "
                                f"{', '.join(_DEFAULT_SETTINGS['retention_years'])}")
            elif not _whole(n, 1, 100):
                problems.append(f"settings.retention_years.{kind}: a whole number of years from 1 to 100, got {n!r}")
        out["retention_years"] = {**_DEFAULT_SETTINGS["retention_years"], **years}
    if not isinstance(out["office_hours_only"], bool):
        problems.append(f"settings.office_hours_only: true or false, got {out['office_hours_only']!r}")
    hours = out["office_hours"]
    if not (isinstance(hours, (list, tuple)) and len(hours) == 2 and all(isinstance(h, str) and _HHMM.match(h)
                                                                         for h in hours)):
        problems.append(f"settings.office_hours: two times as [\"08:00\", \"18:00\"], got {hours!r}")
        out["office_hours"] = _DEFAULT_SETTINGS["office_hours"]
    out["office_hours"] = tuple(out["office_hours"])
    months = out["password_change_months"]
    if months is not None and not _whole(months, 1, 120):
        problems.append(f"settings.password_change_months: a whole number from 1 to 120 or null, got {months!r}")
    rule = out["contractor_rule"]
    if rule is not None and (not isinstance(rule, str) or not rule.strip()):
        problems.append(f"settings.contractor_rule: the clause that forbids contractors WebIR use, or null, "
                        f"got {rule!r}")
    rule = out["admission_rule"]
    if rule is not None and (not isinstance(rule, str) or not rule.strip()):
        problems.append(f"settings.admission_rule: the clause that bars an agency never admitted, or null, "
                        f"got {rule!r}")
    if not isinstance(out["account_forms_from_cancellation"], bool):
        problems.append(f"settings.account_forms_from_cancellation: true or false, "
                        f"got {out['account_forms_from_cancellation']!r}")
    if not _whole(out["violation_report_days"], 1, 365):
        problems.append(f"settings.violation_report_days: a whole number from 1 to 365, "
                        f"got {out['violation_report_days']!r}")
    return out


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        problems.append(f"{where}: expected a list, got {value!r}")
        return ()
    return tuple(str(v) for v in value)


def _choices(value: Any, where: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if value == ITEM_CHOICES:
        return forms.ITEM_CHOICES
    if isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value):  # item codes
        unknown = [c for c in value if c not in QUERY_ITEMS]
        if unknown:
            problems.append(f"{where}: unknown query items {', '.join(unknown)}")
        return forms.item_choices(value)
    if isinstance(value, Mapping):
        return tuple((str(k), str(v)) for k, v in value.items())
    problems.append(f"{where}: choices are a mapping of value to label, {ITEM_CHOICES!r} or a list of item codes, "
                    f"got {value!r}")
    return ()


def _field(raw: Any, where: str, snippets: Mapping, problems: list[str]) -> Field | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: a field is a mapping (name, label, type …), got {raw!r}")
        return None
    if "use" in raw:
        snippet = snippets.get(raw["use"])
        if not isinstance(snippet, Mapping):
            problems.append(f"{where}: use {raw['use']!r} names no field snippet of {COMMON}; the snippets are "
                            f"{', '.join(snippets) or 'none'}")
            return None
        raw = {**snippet, **{k: v for k, v in raw.items() if k != "use"}}
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(f"{where}: a field needs a name (letters, digits and _), got {name!r}")
        return None
    where = f"{where} ({name})"
    _unknown_keys(raw, _FIELD_KEYS, where, problems)
    kind = raw.get("type")
    if kind is None:
        problems.append(f"{where}: no type; the types are {', '.join(FIELD_TYPES)}")
    elif kind not in FIELD_TYPES:
        problems.append(f"{where}: unknown type {kind!r}; the types are {', '.join(FIELD_TYPES)}")
    if not isinstance(raw.get("label"), str) or not raw["label"].strip():
        problems.append(f"{where}: no label")
    choices = _choices(raw.get("choices"), f"{where}.choices", problems)
    if kind == "choice" and not choices:
        problems.append(f"{where}: a choice field without choices")
    required_when = None
    if raw.get("required_when") is not None:
        rw = raw["required_when"]
        if isinstance(rw, Mapping) and len(rw) == 1:
            other, values = next(iter(rw.items()))
            required_when = (str(other), _strings(values, f"{where}.required_when", problems))
        else:
            problems.append(f"{where}: required_when names one field and its values, "
                            f"e.g. {{request_type: [add]}}, got {rw!r}")
    max_length = raw.get("max_length")
    if max_length is not None and not _whole(max_length, 1, 2000):
        problems.append(f"{where}: max_length is a whole number from 1 to 2000, got {max_length!r}")
        max_length = None
    columns, min_rows, max_rows = _row_shape(raw, kind, where, snippets, problems)
    return Field(name, str(raw.get("label") or name), str(kind or "string"), required=bool(raw.get("required")),
                 choices=choices, help=str(raw.get("help") or ""), required_when=required_when,
                 sensitive=bool(raw.get("sensitive")), max_length=max_length, source=str(raw.get("source") or ""),
                 attestation=bool(raw.get("attestation")), computed=bool(raw.get("computed")),
                 columns=columns, min_rows=min_rows, max_rows=max_rows)


def _row_shape(raw: Mapping, kind: Any, where: str, snippets: Mapping, problems: list[str]
               ) -> tuple[tuple[Field, ...], int, int]:
    """A rows field's columns (ordinary fields, no rows inside rows) and its least and most rows."""
    if kind != "rows":
        for key in ("columns", "min_rows", "max_rows"):
            if key in raw:
                problems.append(f"{where}: {key} belongs to a rows field only")
        return (), 0, 0
    columns = _fields(raw.get("columns"), f"{where}.columns", snippets, problems)
    if not columns:
        problems.append(f"{where}: a rows field needs columns (a list of fields)")
    for c in columns:
        if c.type in ("rows", "attachment", "legal_basis"):
            problems.append(f"{where}.columns ({c.name}): a column cannot be of type {c.type}")
        if c.required_when:
            problems.append(f"{where}.columns ({c.name}): a column cannot be required_when")
    low, high = raw.get("min_rows", 0), raw.get("max_rows")
    if not _whole(low, 0, _ROW_LIMIT):
        problems.append(f"{where}: min_rows is a whole number from 0 to {_ROW_LIMIT}, got {low!r}")
        low = 0
    if not _whole(high, 1, _ROW_LIMIT):
        problems.append(f"{where}: max_rows is a whole number from 1 to {_ROW_LIMIT}, got {high!r}")
        high = _ROW_LIMIT
    elif low > high:
        problems.append(f"{where}: min_rows ({low}) is more than max_rows ({high})")
    return columns, low, high


def _fields(value: Any, where: str, snippets: Mapping, problems: list[str], *,
            context: tuple[str, ...] = ()) -> tuple[Field, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        problems.append(f"{where}.fields: expected a list of fields, got {value!r}")
        return ()
    out = tuple(f for i, raw in enumerate(value)
                if (f := _field(raw, f"{where}[{i}]" if where.endswith(".columns") else f"{where}.fields[{i}]",
                                snippets, problems)) is not None)
    names = [f.name for f in out]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"{where}: field {name!r} appears more than once")
    for f in out:
        if f.required_when and f.required_when[0] not in (*names, *context):
            problems.append(f"{where}.fields ({f.name}): required_when names no field: {f.required_when[0]!r}")
    return out


def _named_check(name: Any, where: str, problems: list[str]) -> Callable | None:
    if name is None:
        return None
    if name not in FORM_CHECKS:
        problems.append(f"{where}: check {name!r} names no validator; the validators are "
                        f"{', '.join(FORM_CHECKS)}")
        return None
    return FORM_CHECKS[name]


def _form(key: str, raw: Any, roles: Mapping[str, str], snippets: Mapping, problems: list[str]) -> FormSpec:
    where = f"forms.{key}"
    raw = _mapping(raw, where, problems)
    _unknown_keys(raw, _FORM_KEYS, where, problems)
    fields = _fields(raw.get("fields"), where, snippets, problems)
    names = {f.name for f in fields}
    for listing in ("summary_fields", "key_fields"):
        for name in _strings(raw.get(listing), f"{where}.{listing}", problems):
            if name not in names:
                problems.append(f"{where}.{listing}: {name!r} names no field of the form")
    filer = raw.get("filer_role")
    if filer is not None and filer != SCHEDULER and filer not in roles:
        problems.append(f"{where}: filer_role {filer!r} is not a role of the pack (or {SCHEDULER})")
    effect = raw.get("effect")
    if effect is not None and effect not in EFFECT_NAMES:
        problems.append(f"{where}: effect {effect!r} names nothing in code; the effects are "
                        f"{', '.join(sorted(EFFECT_NAMES))}")
        effect = None
    if not isinstance(raw.get("title"), str):
        problems.append(f"{where}: no title")
    return FormSpec(key, str(raw.get("title") or key), str(raw.get("source") or ""), fields,
                    filer_role=filer, check=_named_check(raw.get("check"), where, problems),
                    summary_fields=_strings(raw.get("summary_fields"), where, []),
                    key_fields=_strings(raw.get("key_fields"), where, []), effect=effect)


def _step_form(key: str, raw: Any, snippets: Mapping, problems: list[str]) -> StepForm:
    where = f"step_forms.{key}"
    raw = _mapping(raw, where, problems)
    _unknown_keys(raw, _STEP_KEYS, where, problems)
    decisions = _strings(raw.get("decisions"), f"{where}.decisions", problems)
    if not decisions:
        problems.append(f"{where}: no decisions")
    for d in decisions:
        if d not in DECISION_LABELS or d in ("send_back", "recall"):
            problems.append(f"{where}.decisions: unknown decision {d!r}; the decisions are "
                            "approve, reject, return, resubmit, withdraw")
    fields = _fields(raw.get("fields"), where, snippets, problems, context=("decision",))
    per_item = str(raw["per_item"]) if raw.get("per_item") else None
    if per_item:  # what the per-item answers are kept as (forms.per_item_record), labelled for the sheet
        fields = (*fields, *forms.PER_ITEM_RECORDED)
    return StepForm(key, decisions, fields, approve_label=str(raw.get("approve_label") or "同意"),
                    check=_named_check(raw.get("check"), where, problems), per_item=per_item)


def _duty(name: str, raw: Any, problems: list[str]) -> Duty:
    where = f"duties.{name}"
    raw = _mapping(raw, where, problems)
    _unknown_keys(raw, _DUTY_KEYS, where, problems)
    every = raw.get("every")
    if every not in RHYTHMS:
        problems.append(f"{where}: every {every!r} is not a rhythm; the rhythms are {', '.join(RHYTHMS)}")
        every = "year"
    for attr, low, high, default in (("day", 1, 31, None), ("month", 1, 12, 1), ("hour", 0, 23, 9),
                                     ("due_day", 1, 31, None)):
        value = raw.get(attr, default)
        if value is None and attr == "day":
            problems.append(f"{where}: no day")
        elif value is not None and not _whole(value, low, high):
            problems.append(f"{where}: {attr} must be a whole number from {low} to {high}, got {value!r}")
    months = MONTHS.get(every) or (raw.get("month", 1),)
    if _whole(raw.get("day"), 1, 31) and all(_whole(m, 1, 12) for m in months):
        last = min(calendar.monthrange(2027, m)[1] for m in months)  # 2027: a common year
        if raw["day"] > last:
            problems.append(f"{where}: day {raw['day']} is missing from some of its months (at most {last})")
    targets = raw.get("targets", "requesting_agencies")
    if targets not in TARGET_NAMES:
        problems.append(f"{where}: targets {targets!r} names nothing in code; the targets are "
                        f"{', '.join(sorted(TARGET_NAMES))}")
    return Duty(name, str(raw.get("process") or name), str(raw.get("title") or name), str(raw.get("source") or ""),
                every, day=raw.get("day") if _whole(raw.get("day"), 1, 31) else 1,
                month=raw.get("month", 1) if _whole(raw.get("month", 1), 1, 12) else 1,
                hour=raw.get("hour", 9) if _whole(raw.get("hour", 9), 0, 23) else 9,
                due_day=raw.get("due_day") if _whole(raw.get("due_day"), 1, 31) else None,
                targets=str(targets), off=bool(raw.get("off")))


def _demo(raw: Mapping, problems: list[str]) -> Demo:
    _unknown_keys(raw, _DEMO_KEYS, "demo.yaml", problems)
    agencies = []
    for i, a in enumerate(raw.get("agencies") or ()):
        where = f"demo.yaml agencies[{i}]"
        if not isinstance(a, Mapping) or not a.get("code"):
            problems.append(f"{where}: an agency needs at least a code, a name and its kinds")
            continue
        _unknown_keys(a, _AGENCY_KEYS, where, problems)
        admission = a.get("admission")
        agencies.append(DemoAgency(
            str(a["code"]), str(a.get("name") or a["code"]), _strings(a.get("kinds"), f"{where}.kinds", problems),
            _strings(a.get("items"), f"{where}.items", problems),
            (str(admission.get("legal_bases", "")), str(admission.get("purposes", "")))
            if isinstance(admission, Mapping) else None,
            a.get("commissioned_by"), a.get("oid")))
    people = []
    for i, p in enumerate(raw.get("people") or ()):
        where = f"demo.yaml people[{i}]"
        if not isinstance(p, Mapping) or not p.get("username"):
            problems.append(f"{where}: a person needs at least a username, a name, an agency and a unit")
            continue
        _unknown_keys(p, _PERSON_KEYS, where, problems)
        people.append(DemoPerson(str(p["username"]), str(p.get("name") or p["username"]), str(p.get("title") or ""),
                                 str(p.get("agency") or ""), str(p.get("unit") or ""),
                                 _strings(p.get("roles"), f"{where}.roles", problems),
                                 p.get("contractor") is True))
    delegations = []
    for i, d in enumerate(raw.get("delegations") or ()):
        if not isinstance(d, Mapping) or not {"principal", "delegate", "role"} <= set(d):
            problems.append(f"demo.yaml delegations[{i}]: needs principal, delegate and role")
            continue
        delegations.append((str(d["principal"]), str(d["delegate"]), str(d["role"])))
    accounts = tuple((str(u), _strings(items, f"demo.yaml querier_accounts.{u}", problems))
                     for u, items in _mapping(raw.get("querier_accounts"), "demo.yaml querier_accounts",
                                              problems).items())
    bases = tuple((str(code), tuple((str(r[0]), str(r[1])) for r in rows
                                    if isinstance(r, (list, tuple)) and len(r) == 2))
                  for code, rows in _mapping(raw.get("legal_bases"), "demo.yaml legal_bases", problems).items())
    return Demo(str(raw.get("email_domain") or "demo.gov.tw"), str(raw.get("phone_prefix") or "02-2"),
                str(raw.get("id_letter") or "A"), tuple(agencies), tuple(people), tuple(delegations), accounts,
                _strings(raw.get("manager_accounts"), "demo.yaml manager_accounts", problems), bases)


# ---------------------------------------------------------------- checking

@dataclass(frozen=True)
class DiagramFacts:
    """What the pack check reads of a diagram file (lxml, entities off; the engine parses it again to run it)."""

    path: Path
    process: str | None
    form: str | None
    lanes: tuple[str, ...] = ()
    step_forms: tuple[tuple[str, str], ...] = ()  # (user task id, form)
    problem: str | None = None


def read_diagram(path: Path) -> DiagramFacts:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(path.read_bytes(), parser)
    except etree.XMLSyntaxError as exc:
        return DiagramFacts(path, None, None, problem=f"not well-formed XML: {exc}")
    process = root.find("bpmn:process", _NS)
    if process is None:
        return DiagramFacts(path, None, None, problem="no bpmn:process")
    start = process.find("bpmn:startEvent", _NS)
    form = _property(process, "form") or (_property(start, "form") if start is not None else None)
    lanes = tuple(lane.get("name") or "" for lane in process.iter(f"{{{_NS['bpmn']}}}lane"))
    steps = tuple((task.get("id") or "", f) for task in process.iter(f"{{{_NS['bpmn']}}}userTask")
                  if (f := _property(task, "form")))
    return DiagramFacts(path, process.get("id"), form or process.get("id"), lanes, steps)


def _property(node, name: str) -> str | None:
    for prop in node.iterfind("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", _NS):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def diagram_files(directory: Path) -> list[Path]:
    """The live diagrams and every earlier version under history/ (the agencies' own are their layer's)."""
    return sorted([*directory.glob("*.bpmn"), *directory.glob("history/*/*.bpmn")])


def check_diagrams(pack: Pack) -> list[str]:
    problems = []
    live: dict[str, DiagramFacts] = {}
    for path in diagram_files(pack.directory):
        facts = read_diagram(path)
        where = str(path.relative_to(pack.directory))
        if facts.problem:
            problems.append(f"{where}: {facts.problem}")
            continue
        if path.parent == pack.directory:
            live[facts.process or ""] = facts
            if facts.process != path.stem:
                problems.append(f"{where}: its process id {facts.process!r} is not its file name")
        for lane in facts.lanes:
            if lane not in pack.roles:
                problems.append(f"{where}: lane {lane!r} names a role the pack does not list")
        for task, form in facts.step_forms:
            if form not in pack.step_forms:
                problems.append(f"{where}: user task {task!r} asks for step form {form!r}, which the pack does not "
                                "define")
    started = {f.form for f in live.values()}
    for key in pack.forms:
        if key not in started:
            problems.append(f"forms.{key}: no diagram starts it (bpmn/{pack.key}/{key}.bpmn, or a diagram whose "
                            f"form property is {key})")
    for name, duty in pack.duties.items():
        if duty.process not in live:
            problems.append(f"duties.{name}: no diagram for its process {duty.process!r}")
    return problems


def check_demo(pack: Pack) -> list[str]:
    if pack.demo is None:
        return []
    demo, problems = pack.demo, []
    codes = {a.code for a in demo.agencies}
    for a in demo.agencies:
        for kind in a.kinds:
            if kind not in pack.agency_kinds:
                problems.append(f"demo.yaml agency {a.code}: kind {kind!r} is not an agency kind of the pack")
        if not a.kinds:
            problems.append(f"demo.yaml agency {a.code}: no kinds")
        unknown = [c for c in a.items if c not in QUERY_ITEMS]
        if unknown:
            problems.append(f"demo.yaml agency {a.code}: unknown query items {', '.join(unknown)}")
        if a.commissioned_by and a.commissioned_by not in codes:
            problems.append(f"demo.yaml agency {a.code}: commissioned_by {a.commissioned_by!r} is no agency")
    usernames = [p.username for p in demo.people]
    for name in {u for u in usernames if usernames.count(u) > 1}:
        problems.append(f"demo.yaml: person {name!r} appears more than once")
    for p in demo.people:
        if p.agency not in codes:
            problems.append(f"demo.yaml person {p.username}: unknown agency {p.agency!r}")
        for role in p.roles:
            if role not in pack.roles and role != Role.ADMIN:  # the administrator is a flag, never a lane
                problems.append(f"demo.yaml person {p.username}: unknown role {role!r} (not a role of the pack)")
    for needed in ("applicant", "manager", "admin"):
        if needed not in usernames:
            problems.append(f"demo.yaml: every pack's demo keeps the log-in {needed!r}")
    for principal, delegate, role in demo.delegations:
        for name in (principal, delegate):
            if name not in usernames:
                problems.append(f"demo.yaml delegation: unknown person {name!r}")
        if role not in pack.roles:
            problems.append(f"demo.yaml delegation: unknown role {role!r}")
    for username, items in demo.querier_accounts:
        if username not in usernames:
            problems.append(f"demo.yaml querier_accounts: unknown person {username!r}")
        unknown = [c for c in items if c not in QUERY_ITEMS]
        if unknown:
            problems.append(f"demo.yaml querier_accounts.{username}: unknown query items {', '.join(unknown)}")
    for username in demo.manager_accounts:
        if username not in usernames:
            problems.append(f"demo.yaml manager_accounts: unknown person {username!r}")
    for code, _rows in demo.legal_bases:
        if code not in codes:
            problems.append(f"demo.yaml legal_bases: unknown agency {code!r}")
    return problems


def check_pack(key: str, root: Path | None = None) -> list[str]:
    """Every problem of the pack: its data, its diagrams, its demo. Empty: the pack can be activated.

    Remembered while none of the pack's files changes (each app a process creates checks its pack).
    """
    try:
        seen = (key, root, _fingerprint(pack_directory(key, root)))
    except PackError as exc:
        return exc.problems
    if seen not in _checked:
        try:
            pack, problems = load_pack(key, root)
        except PackError as exc:
            return exc.problems
        _checked.clear()  # one pack a process, give or take a test's
        _checked[seen] = (pack, problems, [*problems, *check_diagrams(pack), *check_demo(pack)])
    return list(_checked[seen][2])


_checked: dict[tuple, tuple[Pack, list[str], list[str]]] = {}  # (the pack, its data's problems, every problem)


def checked_pack(key: str, root: Path | None = None) -> tuple[Pack, list[str]]:
    """The pack and its data's problems, as ``check_pack`` built it while none of its files changed, else loaded."""
    remembered = _checked.get((key, root, _fingerprint(pack_directory(key, root))))
    if remembered is None:
        return load_pack(key, root)
    return remembered[0], list(remembered[1])


def _fingerprint(directory: Path) -> tuple:
    """Each file a check reads, with its size and modification time."""
    files = [directory / "pack.yaml", directory / "demo.yaml", directory.parent / COMMON, *diagram_files(directory)]
    return tuple((str(f), s.st_size, s.st_mtime_ns) for f in files if f.is_file() and (s := f.stat()))


# ---------------------------------------------------------------- the active pack

_active: Pack | None = None
_observers: list[Callable[[Pack], None]] = []


def active() -> Pack:
    """The process's pack (Kaohsiung unless activate chose another)."""
    if _active is None:
        activate(DEFAULT)
    assert _active is not None
    return _active


def on_activate(observer: Callable[[Pack], None]) -> None:
    """Call ``observer(pack)`` now (when a pack is active) and whenever another pack is activated.

    For the floors above the kernel that keep a pack's data in their own shape (the duty schedules, the demo).
    """
    _observers.append(observer)
    if _active is not None:
        observer(_active)


def activate(key: str = DEFAULT, root: Path | None = None, *, pack: Pack | None = None) -> Pack:
    """Make a pack the active one, filling in place what the code reads; PackError when its data has problems.

    The diagrams and the demo are checked by ``check_pack`` (create_app refuses to start on any problem).
    """
    global _active
    if pack is None:
        pack, problems = checked_pack(key, root)  # the start checked it just before: not built again
        if problems:
            raise PackError(key, problems)
    forms.FORMS.clear()
    forms.FORMS.update(pack.forms)
    forms.STEP_FORMS.clear()
    forms.STEP_FORMS.update(pack.step_forms)
    ROLE_LABELS.clear()
    ROLE_LABELS.update(_GLOSSARY_ROLE_LABELS)
    ROLE_LABELS.update({Role(k): v for k, v in pack.roles.items()})
    KIND_LABELS.clear()
    KIND_LABELS.update(_GLOSSARY_KIND_LABELS)
    KIND_LABELS.update({AgencyKind(k): v for k, v in pack.agency_kinds.items()})
    KNOWN_ROLES.clear()
    KNOWN_ROLES.update(pack.roles)
    s = pack.settings
    SETTINGS.retention_years = dict(s["retention_years"])
    SETTINGS.office_hours_only = s["office_hours_only"]
    SETTINGS.office_hours_start, SETTINGS.office_hours_end = s["office_hours"]
    SETTINGS.password_change_months = s["password_change_months"]
    SETTINGS.violation_report_days = s["violation_report_days"]
    SETTINGS.contractor_rule = s["contractor_rule"]
    SETTINGS.admission_rule = s["admission_rule"]
    SETTINGS.account_forms_from_cancellation = s["account_forms_from_cancellation"]
    _active = pack
    for observer in _observers:
        observer(pack)
    return pack


@contextmanager
def activated(key: str, root: Path | None = None) -> Iterator[Pack]:
    """The pack active inside the block, the one before it afterwards (tests of another city's chains)."""
    before = active()
    pack = activate(key, root)
    try:
        yield pack
    finally:
        activate(before.key, pack=before)


def with_overlay(pack: Pack, overlay: Mapping, *, common: Mapping | None = None) -> tuple[Pack, list[str]]:
    """The pack with an overlay's forms, step forms, duties and settings on top (e.g. one agency's own rules).

    Built again from the merged data, so the overlay is checked as the pack is; returns the problems found.
    """
    raw, demo, common_read, problems = read_raw(pack.key, pack.directory.parent)
    merged = merge(raw, overlay)
    built = build_pack(merged, pack.directory, common=common if common is not None else common_read, demo=demo,
                       problems=problems)
    return replace(built, demo=pack.demo), problems


__all__ = ["Demo", "DemoAgency", "DemoPerson", "Duty", "Pack", "PackError", "activate", "activated", "active",
           "check_pack", "checked_pack",
           "load_pack", "merge", "on_activate", "with_overlay", "KIND_LABELS", "KNOWN_ROLES"]
