"""One agency's own rules layered on the city's pack (docs/jurisdictions.md, "One agency's own rules").

``bpmn/<city>/agencies/<code>/pack.yaml`` adds forms, step forms and lanes, replaces a city form for that agency's
filers (same key, its own diagram with its own process id in the folder) and sets that agency's settings, without
repeating what it does not change. It is built with the pack loader itself (``jurisdiction.with_overlay``: the
city's pack with the layer on top, checked as a pack is), and its own keys (the process of a replaced form, who
files an added one, the lanes, a per-item step deciding a field of its own forms) are checked here;
``check_layers`` lists every problem.

When a pack is activated (``jurisdiction.on_activate``) its layers are installed: the added forms and the step
forms join ``forms.FORMS`` / ``STEP_FORMS``, a replaced form goes to ``forms.AGENCY_FORMS`` (for the filers of that
agency whose filings run the layer's process), the lanes to the roles a diagram may name. Deploying the city's
diagrams deploys each layer's too and maps a replaced form to the layer's process for that agency's filers
(``editor.deploy.deploy_directory``, the ``form_chain`` table with an agency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from models import ROLE_LABELS

from . import forms, jurisdiction
from .forms import FormSpec, StepForm

LAYERS_FOLDER = "agencies"
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
    "manager_unit_head": "the unit head of the unit of the agency's manager",  # 權限管理單位主管
    "responsible_querier": "a querier of the commissioning agency's responsible unit",
    "responsible_unit_head": "the unit head of the commissioning agency's responsible unit",
    "audited_querier": "the querier the form names in its querier field",
    "audited_unit_head": "the unit head of that querier",
}
# A layer's settings: the pack's own (checked by the pack loader), and the agency's.
AGENCY_SETTINGS = ("single_manager_rule", "responsible_unit")
_TOP = {"agency", "name", "rule_books", "roles", "settings", "duties", "forms", "step_forms"}
_LAYER_FORM_KEYS = ("process", "filers", "requester_field")  # beyond a pack form's keys


class LayerError(ValueError):
    """An agency layer the app cannot run, with every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


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
    duty_sources: dict[str, str] = field(default_factory=dict)  # a city duty → the clause of this layer ordering it


def _read(directory: Path, problems: list[str]) -> dict[str, Any]:
    path = directory / "pack.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot be read ({exc})")
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected a mapping")
        return {}
    return raw


def _lanes_and_steps(layer_dir: Path, code: str, roles: set[str], steps: set[str], problems: list[str]) -> dict:
    """The layer's diagrams (process id → the form it starts), each lane and step form checked."""
    started = {}
    for path in sorted(layer_dir.glob("*.bpmn")):
        facts = jurisdiction.read_diagram(path)
        where = f"{code}/{path.name}"
        if facts.problem:
            problems.append(f"{where}: {facts.problem}")
            continue
        if facts.process != path.stem:
            problems.append(f"{where}: its process id {facts.process!r} is not its file name")
        started[facts.process] = facts.form
        problems += [f"{where}: lane {lane!r} names a role neither the pack nor the layer lists"
                     for lane in facts.lanes if lane not in roles]
        problems += [f"{where}: user task {task!r} asks for step form {form!r}, which neither defines"
                     for task, form in facts.step_forms if form not in steps]
    return started


def parse_layer(directory: Path, pack: jurisdiction.Pack) -> tuple[AgencyLayer | None, list[str]]:
    """The layer in ``directory`` on ``pack`` and every problem found in it (a layer with problems is not usable)."""
    problems: list[str] = []
    raw = _read(directory, problems)
    if not raw:
        return None, problems
    code = str(raw.get("agency") or directory.name)
    if code != directory.name:
        problems.append(f"{directory.name}/pack.yaml: agency {code!r} is not the folder's name")
    problems += [f"{code}: unknown key {k!r}; the keys are {', '.join(sorted(_TOP))}" for k in raw if k not in _TOP]
    roles = {str(k): str(v) for k, v in (raw.get("roles") or {}).items()}
    problems += [f"{code}: roles: the code cannot tell who holds lane {role!r}; a layer's lanes are "
                 f"{', '.join(LANE_ROLES)}" for role in roles if role not in LANE_ROLES]
    settings = dict(raw.get("settings") or {})
    own_forms = dict(raw.get("forms") or {})
    own_steps = dict(raw.get("step_forms") or {})
    # The pack loader builds and checks the layer's forms, step forms and the pack's own settings on the city's.
    overlay = {
        "forms": {k: {n: v for n, v in (spec or {}).items() if n not in _LAYER_FORM_KEYS}
                  for k, spec in own_forms.items()},
        "step_forms": own_steps,
        "settings": {k: v for k, v in settings.items() if k not in AGENCY_SETTINGS},
    }
    built, found = jurisdiction.with_overlay(pack, overlay)
    problems += [f"{code}: {p}" for p in found]
    problems += [f"{code}: step_forms.{k}: the city's pack has a step form of that name" for k in own_steps
                 if k in pack.step_forms]
    forms_out, processes, filers, replaces = {}, {}, {}, set()
    for key, spec in own_forms.items():
        spec, form = spec or {}, built.forms.get(key)
        where = f"{code}: forms.{key}"
        if form is None:
            continue
        names = {f.name for f in forms.with_columns(form.fields)}
        if key in pack.forms:
            replaces.add(key)
            if lost := [n for n in READS.get(key, ()) if n not in names]:
                problems.append(f"{where}: a replaced city form keeps the fields the code reads; missing "
                                f"{', '.join(lost)}")
        elif spec.get("filers", "own") not in FILERS:
            problems.append(f"{where}: filers {spec.get('filers')!r} is not one of {', '.join(FILERS)}")
        else:
            filers[key] = spec.get("filers", "own")
        requester = spec.get("requester_field")
        if requester is not None and requester not in names:
            problems.append(f"{where}: requester_field {requester!r} names no field of the form")
        processes[key] = str(spec.get("process") or key)
        forms_out[key] = FormSpec(**{**form.__dict__, "requester_field": requester})
    steps_out = {k: built.step_forms[k] for k in own_steps if k in built.step_forms}
    for step, spec in steps_out.items():  # a step deciding item by item names a list of items of the layer's forms
        if spec.per_item and not any(f.name == spec.per_item and f.type == "multichoice"
                                     for form in forms_out.values() for f in form.fields):
            problems.append(f"{code}: step_forms.{step}: per_item {spec.per_item!r} is no multichoice field of its "
                            "forms")
    started = _lanes_and_steps(directory, code, {*pack.roles, *roles}, {*pack.step_forms, *steps_out}, problems)
    for key, process in processes.items():
        if process not in started:
            problems.append(f"{code}: forms.{key}: no diagram {process}.bpmn in the layer's folder")
        elif started[process] != key:
            problems.append(f"{code}: {process}.bpmn starts form {started[process]!r}, not {key!r}")
    if "responsible_unit" in settings and not isinstance(settings["responsible_unit"], str):
        problems.append(f"{code}: settings.responsible_unit: a unit's name")
    duty_sources = {}
    for name, duty in (raw.get("duties") or {}).items():
        if name not in pack.duties:
            problems.append(f"{code}: duties.{name}: the city's pack has no such duty (a layer cites the city's)")
        duty_sources[str(name)] = str((duty or {}).get("source", ""))
    layer = AgencyLayer(code, str(raw.get("name", code)), directory, roles, settings, forms_out, processes,
                        frozenset(replaces), filers, steps_out, duty_sources)
    return layer, problems


LAYERS: dict[str, AgencyLayer] = {}


def layer_folders(pack: jurisdiction.Pack) -> list[Path]:
    return sorted(p for p in (pack.directory / LAYERS_FOLDER).glob("*") if (p / "pack.yaml").is_file())


def check_layers(key: str, root: Path | None = None) -> list[str]:
    """Every problem of the agency layers of a pack (none when the pack has none).

    Remembered while none of the files it reads changes, as ``jurisdiction.check_pack`` is (every app checks); the
    activation that follows installs the layers parsed here.
    """
    try:
        pack, _problems = jurisdiction.checked_pack(key, root)
    except jurisdiction.PackError as exc:
        return exc.problems
    return [p for _layer, found in parsed_layers(pack) for p in found]


def parsed_layers(pack: jurisdiction.Pack) -> list[tuple[AgencyLayer | None, list[str]]]:
    """Each layer of the pack with its problems, parsed once while neither the pack nor a file it reads changes."""
    directory = pack.directory
    files = sorted(p for p in [*directory.glob("*.yaml"), *directory.glob("*.bpmn"),
                               *(directory / LAYERS_FOLDER).glob("*/*")] if p.is_file())
    seen = tuple((str(f), s.st_size, s.st_mtime_ns) for f in files if (s := f.stat()))
    if not (_parsed and _parsed[0][0] is pack and _parsed[0][1] == seen):
        _parsed[:] = [(pack, seen, [parse_layer(folder, pack) for folder in layer_folders(pack)])]
    return _parsed[0][2]


_parsed: list[tuple[jurisdiction.Pack, tuple, list[tuple[AgencyLayer | None, list[str]]]]] = []  # the last pack's


def _install(pack: jurisdiction.Pack) -> None:
    """On activation: the pack's layers join the catalogue; refused with every problem (LayerError)."""
    LAYERS.clear()
    forms.AGENCY_FORMS.clear()
    layers, problems = [], []
    for layer, found in parsed_layers(pack):
        problems += found
        layers.append(layer)
    if problems:
        raise LayerError(problems)
    for layer in layers:
        LAYERS[layer.code] = layer
        for key, form in layer.forms.items():
            if key in layer.replaces:
                forms.AGENCY_FORMS.setdefault(layer.code, {})[key] = (layer.processes[key], form)
            else:
                forms.FORMS[key] = form
        forms.STEP_FORMS.update(layer.step_forms)
        for role, label in layer.roles.items():  # a lane's name where steps and sign-offs are shown
            ROLE_LABELS[role] = label
            jurisdiction.KNOWN_ROLES.add(role)


# ---------------------------------------------------------------- reads for the rest of the core

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


jurisdiction.on_activate(_install)
