"""Import people, units and roles from a personnel office's spreadsheet, in one transaction.

The same code previews and applies: a dry run makes every change in the transaction and rolls it back, so the
preview lists exactly what applying would do. A file with any problem applies nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import generate_password_hash

from models import UNIT_ROLES, Agency, Person, PersonStatus, RoleHolding, Unit

from .. import audit
from ..access import require_admin
from ..calendar import local_date
from ..errors import Invalid
from .agencies import ADMIN_ONLY
from .people import STATUS_LABELS, parse_status, person_errors, return_to_service, take_out_of_service
from .roles import parse_date, parse_role, role_problem
from .sheets import Problem, Sheet, read_sheet

ROLE_SEPARATORS = re.compile(r"[、,，;；/／\n]+")
PERSON_COLUMNS = ("username", "name", "title", "email", "staff_number", "is_contractor")


@dataclass
class ImportReport:
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    deactivations: list[dict] = field(default_factory=list)
    units: list[dict] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    rows: int = 0
    applied: bool = False

    def as_dict(self) -> dict:
        return {"creates": self.creates, "updates": self.updates, "deactivations": self.deactivations,
                "units": self.units, "errors": [e.as_dict() for e in self.errors], "rows": self.rows,
                "applied": self.applied}


@dataclass
class _Run:
    session: Session
    sheet: Sheet
    report: ImportReport
    actor: Person | None
    now: datetime
    today: date
    agencies: set[int] = field(default_factory=set)
    seen: set[Person] = field(default_factory=set)
    _no_password: str | None = None
    # The organisation read once up front (a file of thousands of rows asks no query per row), kept current as
    # the rows change it.
    by_username: dict[str, Person] = field(default_factory=dict)
    by_number: dict[str, Person] = field(default_factory=dict)
    by_agency: dict[str, Agency] = field(default_factory=dict)
    units: dict[tuple[int, int | None, str], Unit] = field(default_factory=dict)
    # Audit events of rows created here, recorded after one flush has given them their ids.
    pending: list[tuple[str, object, str, dict]] = field(default_factory=list)
    # People the file marks as left or retired: taken out of service after every row, so that their steps go to
    # holders the same file adds.
    leaving: list[tuple[int, Person, PersonStatus, date]] = field(default_factory=list)

    def load(self) -> None:
        for person in self.session.scalars(select(Person).options(
                selectinload(Person.roles), selectinload(Person.agency), selectinload(Person.unit))):
            self.remember(person)
        for agency in self.session.scalars(select(Agency).options(selectinload(Agency.units))):
            self.by_agency.setdefault(agency.code, agency)
            self.by_agency.setdefault(agency.name, agency)
            for unit in sorted(agency.units, key=lambda u: u.id):
                self.units.setdefault((agency.id, unit.parent_id, unit.name), unit)
                self.units.setdefault((agency.id, None, unit.name), unit)  # a bare name finds it anywhere

    def remember(self, person: Person) -> None:
        self.by_username[person.username] = person
        if person.staff_number:
            self.by_number[person.staff_number] = person

    def taken(self, field_name: str, value: str, own: int | None) -> bool:
        index = self.by_username if field_name == "username" else self.by_number
        holder = index.get(value)
        return holder is not None and holder.id != own

    def later(self, event_type: str, row: object, subject_type: str, **payload) -> None:
        self.pending.append((event_type, row, subject_type, payload))

    def record_pending(self) -> None:
        self.session.flush()
        for event_type, row, subject_type, payload in self.pending:
            audit.record(self.session, event_type, actor=self.actor, subject_type=subject_type,
                         subject_id=row.id, now=self.now, **payload)

    def no_password(self) -> str:
        """One hash of a secret nobody knows for the whole file: scrypt is slow by design, and a log-in against it
        takes as long as against any real hash. People log in once an administrator sets their password."""
        if self._no_password is None:
            self._no_password = generate_password_hash(secrets.token_urlsafe(32))
        return self._no_password

    def problem(self, line: int, name: str | None, message: str) -> None:
        column = self.sheet.columns.get(name, name) if name else None
        self.report.errors.append(Problem(line, column, message))


def import_people(session: Session, data: bytes, *, dry_run: bool, deactivate_missing: bool,
                  actor: Person | None, now: datetime) -> ImportReport:
    """Preview (dry run) or apply a personnel spreadsheet; with any error nothing changes."""
    require_admin(actor, ADMIN_ONLY)
    sheet = read_sheet(data)
    report = ImportReport(rows=len(sheet.rows), errors=list(sheet.problems))
    if report.errors:
        return report
    run = _Run(session, sheet, report, actor, now, local_date(now))
    with session.no_autoflush:  # one flush at the end, not one per query
        run.load()
        for line, values in sheet.rows:
            _import_row(run, line, values)
    run.record_pending()
    if not report.errors:
        _leave(run)
    if deactivate_missing and not report.errors:
        _deactivate_missing(run)
    report.errors.sort(key=lambda e: e.row)
    if dry_run or report.errors:
        session.rollback()
        return report
    audit.record(session, "organisation_imported", actor=actor, subject_type="organisation", subject_id=None,
                 now=now, rows=report.rows, creates=len(report.creates), updates=len(report.updates),
                 deactivations=len(report.deactivations), units=len(report.units))
    session.commit()
    report.applied = True
    return report


def _find_person(run: _Run, line: int, values: dict[str, str]) -> tuple[Person | None, bool]:
    """The person this row names by username or staff number; (None, False) when the two name different people."""
    username, number = values.get("username", "").lower(), values.get("staff_number", "")
    by_name = run.by_username.get(username) if username else None
    by_number = run.by_number.get(number) if number else None
    if by_name and by_number and by_name.id != by_number.id:
        run.problem(line, "staff_number", f"員工編號 {number} 屬於帳號 {by_number.username}，與本列帳號不符")
        return None, False
    if by_number and username and by_number.username != username:
        run.problem(line, "username", f"員工編號 {number} 已屬帳號 {by_number.username}，帳號不可在匯入中更改")
        return None, False
    return by_name or by_number, True


def _unit(run: _Run, agency: Agency, text: str) -> Unit | None:
    """The unit of that name in the agency ("上層/下層" names a path down the tree); a missing one is created."""
    parent: Unit | None = None
    for depth, name in enumerate(part.strip()[:100] for part in re.split(r"[/／>]", text) if part.strip()):
        # The first name may sit anywhere in the agency's tree; below it, only that unit's own sub-units.
        unit = run.units.get((agency.id, parent.id if depth else None, name))
        if unit is None:
            unit = Unit(agency=agency, name=name, parent=parent)
            run.session.add(unit)
            run.session.flush()  # new units are few; their ids key the lookups of the rows after
            run.units[(agency.id, parent.id if parent else None, name)] = unit
            run.units.setdefault((agency.id, None, name), unit)
            run.report.units.append({"agency": agency.code, "name": name, "parent": parent.name if parent else None})
            run.later("unit_created", unit, "unit", agency=agency.code, name=name,
                      parent=parent.name if parent else None, imported=True)
        parent = unit
    return parent


def _import_row(run: _Run, line: int, values: dict[str, str]) -> None:
    agency = run.by_agency.get(values.get("agency", ""))
    if agency is None:
        run.problem(line, "agency", f"查無機關「{values.get('agency', '')}」")
        return
    person, ok = _find_person(run, line, values)
    if not ok:
        return
    if person is not None and person in run.seen:
        run.problem(line, "username", f"帳號 {person.username} 在檔案中重複出現")
        return
    if person is not None and person.agency_id != agency.id:
        run.problem(line, "agency", f"{person.username} 屬{person.agency.name}；跨機關調動請辦理職務異動")
        return
    fields = {k: values[k] for k in PERSON_COLUMNS if k in values and (values[k] or k not in ("username",))}
    if person is None and not values.get("username"):
        run.problem(line, "username", "新進人員須填帳號")
        return
    clean, errors = person_errors(run.session, fields, person, taken=run.taken)
    for name, message in errors.items():
        run.problem(line, name, message)
    dates = _dates(run, line, values)
    roles = _roles(run, line, values)
    status = _status(run, line, values)
    if errors or dates is None or roles is None or status is None:
        return
    unit = _unit(run, agency, values["unit"]) if values.get("unit") else (person.unit if person else None)
    run.agencies.add(agency.id)
    if person is None:
        person = _create(run, line, clean, agency, unit)
    else:
        _update(run, line, person, clean, unit)
    run.seen.add(person)
    _set_status(run, line, person, status, dates)
    # A person out of service (or leaving with this file) keeps the roles as they ended.
    if roles is not False and person.active and status in ("", PersonStatus.ACTIVE):
        _set_roles(run, line, person, roles, dates)


def _dates(run: _Run, line: int, values: dict[str, str]) -> dict | None:
    out = {}
    for name in ("valid_from", "valid_until", "status_on"):
        try:
            out[name] = parse_date(values.get(name), name)
        except Invalid as exc:
            run.problem(line, name, exc.errors[name])
            return None
    if out["valid_from"] and out["valid_until"] and out["valid_until"] < out["valid_from"]:
        run.problem(line, "valid_until", "迄日不可早於生效日")
        return None
    return out


def _roles(run: _Run, line: int, values: dict[str, str]):
    """The roles the row lists; False when the file has no role column (roles then stay as they are)."""
    if "role" not in run.sheet.columns:
        return False
    roles = []
    for text in ROLE_SEPARATORS.split(values.get("role", "")):
        if text.strip():
            try:
                roles.append(parse_role(text))
            except Invalid as exc:
                run.problem(line, "role", exc.errors["role"])
                return None
    return roles


def _status(run: _Run, line: int, values: dict[str, str]):
    """The row's status; "" when it names none (the person's status stays), None when it is unknown."""
    try:
        return parse_status(values["status"]) if values.get("status") else ""
    except Invalid as exc:
        run.problem(line, "status", exc.errors["status"])
        return None


def _create(run: _Run, line: int, clean: dict, agency: Agency, unit: Unit | None) -> Person:
    person = Person(**clean, agency=agency, unit=unit, password_hash=run.no_password(), roles=[], active=True,
                    status=PersonStatus.ACTIVE)
    run.session.add(person)
    run.remember(person)
    run.report.creates.append({"row": line, "username": person.username, "name": person.name, "roles": []})
    run.later("person_created", person, "person", username=person.username, name=person.name, agency=agency.code,
              unit=unit.name if unit else None, staff_number=person.staff_number, imported=True)
    return person


def _note_change(run: _Run, line: int, person: Person, change: str) -> None:
    """One update entry per person; a person created by this file gets their roles on the create entry."""
    created = next((c for c in run.report.creates if c["username"] == person.username), None)
    if created is not None:
        created["roles"].append(change.lstrip("+"))
    elif run.report.updates and run.report.updates[-1]["username"] == person.username:
        run.report.updates[-1]["changes"].append(change)
    else:
        run.report.updates.append({"row": line, "username": person.username, "name": person.name,
                                   "changes": [change]})


def _update(run: _Run, line: int, person: Person, clean: dict, unit: Unit | None) -> None:
    before = {}
    for name, value in clean.items():
        if name == "username" or (name == "name" and not value) or getattr(person, name) == value:
            continue
        before[name] = getattr(person, name)
        setattr(person, name, value)
        _note_change(run, line, person, name)
    if unit is not None and person.unit is not unit:
        before["unit"] = person.unit.name if person.unit else None
        person.unit = unit
        _note_change(run, line, person, "unit")
    run.remember(person)
    if before:
        audit.record(run.session, "person_changed", actor=run.actor, subject_type="person", subject_id=person.id,
                     now=run.now, before=before, imported=True)


def _set_roles(run: _Run, line: int, person: Person, roles: list, dates: dict) -> None:
    """The row's roles are the person's roles from now on: missing ones are given, unlisted ones end."""
    current = [h for h in person.roles if h.valid_until is None or h.valid_until >= run.today]
    for role in roles:
        if problem := role_problem(person, role, person.unit if role in UNIT_ROLES else None):
            run.problem(line, "role", problem)
            continue
        unit_id = _unit_id(person) if role in UNIT_ROLES else None
        same = [h for h in current if h.role == role and (role not in UNIT_ROLES or h.unit_id == unit_id)]
        if same:
            _redate(run, line, same[0], dates)
            continue
        holding = RoleHolding(person=person, role=role.value, agency=person.agency,
                              unit=person.unit if role in UNIT_ROLES else None,
                              valid_from=dates["valid_from"], valid_until=dates["valid_until"])
        run.session.add(holding)
        _note_change(run, line, person, f"+{role.value}")
        run.later("role_granted", holding, "role_holding", person=person.username, role=role.value,
                  unit=person.unit.name if role in UNIT_ROLES and person.unit else None, imported=True)
    for holding in current:
        if holding.role not in roles and holding.role != "admin" or (
                holding.role in UNIT_ROLES and holding.unit_id != _unit_id(person)):
            _end(run, line, person, holding)


def _unit_id(person: Person) -> int | None:
    return person.unit.id if person.unit else None


def _redate(run: _Run, line: int, holding: RoleHolding, dates: dict) -> None:
    """A role the person already holds takes the row's dates, where the file has those columns."""
    wanted = (dates["valid_from"] if "valid_from" in run.sheet.columns else holding.valid_from,
              dates["valid_until"] if "valid_until" in run.sheet.columns else holding.valid_until)
    if (holding.valid_from, holding.valid_until) != wanted:
        holding.valid_from, holding.valid_until = wanted
        _note_change(run, line, holding.person, f"{holding.role} 期間")
        audit.record(run.session, "role_changed", actor=run.actor, subject_type="role_holding",
                     subject_id=holding.id, now=run.now, valid_from=str(wanted[0]), valid_until=str(wanted[1]),
                     imported=True)


def _end(run: _Run, line: int, person: Person, holding: RoleHolding) -> None:
    holding.valid_until = max(run.today, holding.valid_from) if holding.valid_from else run.today
    _note_change(run, line, person, f"-{holding.role}")
    audit.record(run.session, "role_ended", actor=run.actor, subject_type="role_holding", subject_id=holding.id,
                 now=run.now, person=person.username, role=holding.role, valid_until=holding.valid_until.isoformat(),
                 imported=True)


def _set_status(run: _Run, line: int, person: Person, status, dates: dict) -> None:
    if not status or person.status == status:
        return
    if status == PersonStatus.ACTIVE:
        return_to_service(run.session, person, actor=run.actor, now=run.now)
        _note_change(run, line, person, "status")
        return
    if run.actor is not None and person.id == run.actor.id:
        run.problem(line, "status", "不能停用自己的帳號")
        return
    run.leaving.append((line, person, status, dates["status_on"] or run.today))


def _leave(run: _Run) -> None:
    for line, person, status, on in run.leaving:
        moved = take_out_of_service(run.session, person, status, on, actor=run.actor, now=run.now)
        run.report.deactivations.append({"row": line, "username": person.username, "name": person.name,
                                         "status": status.value, "label": STATUS_LABELS[status],
                                         "tasks_moved": moved})


def _deactivate_missing(run: _Run) -> None:
    """Active people of the file's agencies it does not list leave (administrators and the actor excepted)."""
    missing = run.session.scalars(select(Person).where(
        Person.agency_id.in_(run.agencies), Person.active.is_(True), Person.is_admin.is_(False),
        Person.id.not_in([p.id for p in run.seen] or [0])).order_by(Person.id)).all()
    for person in missing:
        if run.actor is not None and person.id == run.actor.id:
            continue
        moved = take_out_of_service(run.session, person, PersonStatus.LEFT, run.today, actor=run.actor, now=run.now)
        run.report.deactivations.append({"row": None, "username": person.username, "name": person.name,
                                         "status": PersonStatus.LEFT.value, "label": STATUS_LABELS[PersonStatus.LEFT],
                                         "tasks_moved": moved})
