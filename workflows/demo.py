"""The demo organisation of the active jurisdiction pack (bpmn/<key>/demo.yaml): every role has a person.

Every pack's demo keeps the log-ins ``applicant`` (a querier), ``manager`` (an agency manager) and ``admin``, all
with the password ``demo``. Kaohsiung's is 001_caa5ae0843cf2933.txt's city with its 附表.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from models import (
    AccountItem,
    AccountKind,
    Agency,
    AgencyKind,
    AgencyQueryItem,
    Delegation,
    Person,
    Role,
    RoleHolding,
    Unit,
    WebirAccount,
)

from . import agency_rules, jurisdiction
from .accounts.admission import add_bases
from .calendar import local_date
from .editor.deploy import deploy_directory
from .oversight.bases import seed_bases

DEMO_PASSWORD = "demo"
_LETTERS = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))

# The active pack's demo (bpmn/<key>/demo.yaml) in the shapes the commands and tests read; filled in place when a
# pack is activated. (code, name, kind, permitted items); (username, name, title, agency code, unit name, roles).
CITY = jurisdiction.DEFAULT
AGENCIES: list[tuple[str, str, AgencyKind, list[str]]] = []
PEOPLE: list[tuple[str, str, str, str, str, list[Role]]] = []
ACCOUNTS: list[tuple[str, list[str]]] = []  # querier accounts already granted: (username, items)
MANAGERS: list[str] = []
SINGLE_MANAGER_RULES: dict[str, str] = {}  # agencies whose own rules (layer) allow one agency manager only: the clause
ADMISSIONS: dict[str, tuple[str, str]] = {}  # admitted agencies: (legal bases, purposes)


def _fill(pack: jurisdiction.Pack) -> None:
    global CITY
    CITY = pack.city
    demo = pack.demo
    for listing in (AGENCIES, PEOPLE, ACCOUNTS, MANAGERS):
        listing.clear()
    SINGLE_MANAGER_RULES.clear()
    ADMISSIONS.clear()
    if demo is None:
        return
    AGENCIES.extend((a.code, a.name, AgencyKind(a.kinds[0]), list(a.items)) for a in demo.agencies)
    PEOPLE.extend((p.username, p.name, p.title, p.agency, p.unit, [Role(r) for r in p.roles]) for p in demo.people)
    ACCOUNTS.extend((username, list(items)) for username, items in demo.querier_accounts)
    MANAGERS.extend(demo.manager_accounts)
    SINGLE_MANAGER_RULES.update({a.code: rule for a in demo.agencies  # the agency's own rules (its layer)
                                 if (rule := agency_rules.setting(a.code, "single_manager_rule"))})
    ADMISSIONS.update({a.code: a.admission for a in demo.agencies if a.admission})


jurisdiction.on_activate(_fill)


def valid_national_id(letter: str, digits: str) -> str:
    """Complete 8 digits after the letter (first 1 or 2) with the right check digit."""
    code = _LETTERS[letter]
    total = code // 10 + (code % 10) * 9 + sum(int(d) * w for d, w in zip(digits, (8, 7, 6, 5, 4, 3, 2, 1),
                                                                          strict=True))
    return f"{letter}{digits}{(10 - total % 10) % 10}"


def load_demo(session: Session, *, now: datetime, bpmn_dir: Path, include_history: bool = True,
              agency_chains: bool = True) -> bool:
    """Create the demo city once and deploy its diagrams; return False when already there.

    With the history, the 2017 chains become version 1 and the revised ones version 2, as in a city
    that lived through the change; tests of everything else start from the current rules alone. Without
    ``agency_chains`` every agency files the city's forms (社會局's own 附表1 and 附表2 are deployed but not live
    for it: the city's tests file as 社會局's people).
    """
    pack = jurisdiction.active()
    if session.scalar(select(Person.id).where(Person.username == "admin")):
        deploy_directory(session, bpmn_dir, now=now, jurisdiction=pack.key, include_history=include_history,
                         agency_chains=agency_chains)
        return False
    demo = pack.demo
    if demo is None:
        raise jurisdiction.PackError(pack.key, [f"bpmn/{pack.key}/demo.yaml: missing (the demo organisation)"])
    agencies = {a.code: Agency(code=a.code, name=a.name, kinds={AgencyKind(k) for k in a.kinds}, city=pack.city,
                               oid=a.oid or f"2.16.886.101.{i:05d}",
                               single_manager_rule=SINGLE_MANAGER_RULES.get(a.code))
                for i, a in enumerate(demo.agencies, start=20000)}
    for a in demo.agencies:  # a district office doing 社會局's work (002 §4, 003 §5 ¶3, 004 §9)
        if a.commissioned_by:
            agencies[a.code].commissioned_by = agencies[a.commissioned_by]
    today = local_date(now)
    for a in demo.agencies:
        if a.admission:
            agency = agencies[a.code]
            agency.admitted_on, agency.purposes = today, a.admission[1]
    session.add_all(agencies.values())
    units: dict[tuple[str, str], Unit] = {}
    password_hash = generate_password_hash(DEMO_PASSWORD)
    people: dict[str, Person] = {}
    for n, p in enumerate(demo.people, start=1):
        if (p.agency, p.unit) not in units:
            units[p.agency, p.unit] = Unit(agency=agencies[p.agency], name=p.unit)
            session.add(units[p.agency, p.unit])
        unit = units[p.agency, p.unit]
        roles = [Role(r) for r in p.roles]
        person = Person(username=p.username, name=p.name, title=p.title, agency=agencies[p.agency], unit=unit,
                        email=f"{p.username}@{demo.email_domain}", phone=f"{demo.phone_prefix}{n:02d}",
                        national_id=valid_national_id(demo.id_letter, f"{1 + n % 2}{n:07d}"),
                        password_hash=password_hash, password_changed_at=now, is_admin=Role.ADMIN in roles,
                        is_contractor=p.contractor)
        person.roles = [RoleHolding(role=r, agency=agencies[p.agency], unit=unit) for r in roles]
        people[p.username] = person
    session.add_all(people.values())
    session.flush()
    for a in demo.agencies:
        session.add_all(AgencyQueryItem(agency_id=agencies[a.code].id, item_code=c, granted_at=now) for c in a.items)
    seed_bases(session, agencies, dict(demo.legal_bases))
    session.flush()
    tabled = {code for code, _rows in demo.legal_bases}
    for a in demo.agencies:  # one source: an admission's bases are the table's rows, where the demo lists none
        if a.admission and a.code not in tabled:
            add_bases(session, agencies[a.code], a.admission[0], a.admission[1])
    session.add_all(Delegation(principal=people[principal], delegate=people[delegate], role=Role(role), created_at=now)
                    for principal, delegate, role in demo.delegations)
    for username, items in demo.querier_accounts:
        p = people[username]
        session.add(WebirAccount(person=p, agency_id=p.agency_id, kind=AccountKind.QUERIER, effective_on=today,
                                 egov_account=f"{username}.egov", items=[AccountItem(item_code=c) for c in items],
                                 created_at=now))
    for username in demo.manager_accounts:
        p = people[username]
        session.add(WebirAccount(person=p, agency_id=p.agency_id, kind=AccountKind.MANAGER, effective_on=today,
                                 egov_account=f"{username}.egov", created_at=now))
    session.flush()
    deploy_directory(session, bpmn_dir, now=now, jurisdiction=pack.key, include_history=include_history,
                     agency_chains=agency_chains)
    return True
