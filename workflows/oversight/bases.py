"""The legal-basis table of 001 (附表): for each requesting agency, the statutes its queries rest on, and why.

Administrators keep it (``add_basis``, ``retire_basis``); reconciliation flags a registration whose legal
basis names no statute of its agency's table (``basis_listed``). A registration names its basis in its own
words ("社會救助法第四十四條之三"), so the comparison is by the law's name: the text before its first article
(第…條), which is how the table's entries begin too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency, LegalBasis, Person

from .. import audit
from ..access import require_admin
from ..errors import Conflict, Invalid, NotFound
from ..validators import text_problem

_ARTICLE = re.compile(r"第[一二三四五六七八九十百千零〇0-9]+[條點]")


@lru_cache(maxsize=4096)
def law_name(text: str) -> str:
    """「社會救助法第四十四條之三」→「社會救助法」: the text before its first article."""
    text = (text or "").strip()
    found = _ARTICLE.search(text)
    return (text[:found.start()] if found else text).strip(" 、，,").strip()


def listed_laws(statutes) -> set[str]:
    return {law_name(s) for s in statutes}


def basis_listed(basis: str | None, laws: set[str]) -> bool:
    """Whether the basis names a law of the table (「依」 or 「依據」 before it is read past)."""
    name = law_name(basis or "").removeprefix("依據").removeprefix("依")
    return bool(name) and name in laws


NOT_LISTED_REASON = "這個法令依據不在本機關的法律依據表（001 附表）中：請從表中選擇，或說明改用這個依據的理由"


def agency_statutes(session: Session, agency_id: int | None) -> list[str]:
    """The statutes a registration of this agency picks from: its table's active rows, in the table's order."""
    return list(session.scalars(select(LegalBasis.statute).where(
        LegalBasis.agency_id == agency_id, LegalBasis.active).order_by(LegalBasis.id)))


def bind_basis(session: Session, agency_id: int | None, name: str, data: dict) -> dict[str, str]:
    """A legal-basis field bound to the filer's agency's table: a listed statute as it stands there; any other
    basis only with a stated reason (``<name>_reason``), and then marked ``<name>_not_listed`` so that the unit
    head sees it and reconciliation flags the queries made under it (``basis_not_listed``). Errors by field."""
    basis = (data.get(name) or "").strip()
    reason_key, flag_key = f"{name}_reason", f"{name}_not_listed"
    if basis in agency_statutes(session, agency_id):
        data[name] = basis
        data.pop(flag_key, None)
        if reason_key in data:
            data[reason_key] = None  # a listed basis needs no reason
        return {}
    if not (data.get(reason_key) or "").strip():
        return {reason_key: NOT_LISTED_REASON}
    data[flag_key] = True
    return {}


def seed_bases(session: Session, agencies: dict[str, Agency], table: Mapping[str, Sequence[tuple[str, str]]]) -> None:
    """The city's table: the demo's from its pack's demo.yaml ``legal_bases`` (Kaohsiung's: 001 附表)."""
    for code, rows in table.items():
        if code in agencies:
            session.add_all(LegalBasis(agency_id=agencies[code].id, statute=s, purpose=p) for s, p in rows)


@dataclass(frozen=True)
class BasisRow:
    id: int
    agency: str
    agency_code: str
    statute: str
    purpose: str | None
    active: bool
    admission_id: int | None  # the agency's admission that listed it (None: kept by an administrator)


def list_bases(session: Session, agency_code: str | None = None) -> list[BasisRow]:
    """The table, by agency; anyone signed in may read it (a querier picks from it). The one source of an agency's
    legal bases: its admission writes them, the agency's page and the API read them here."""
    query = select(LegalBasis, Agency).join(Agency, Agency.id == LegalBasis.agency_id).order_by(Agency.id,
                                                                                                LegalBasis.id)
    if agency_code:
        query = query.where(Agency.code == agency_code)
    return [BasisRow(b.id, a.name, a.code, b.statute, b.purpose, b.active, b.application_id)
            for b, a in session.execute(query)]


def add_basis(session: Session, *, agency_code: str, statute: str, purpose: str, actor: Person,
              now: datetime) -> LegalBasis:
    """An administrator adds a statute to an agency's table; audited."""
    require_admin(actor, "只有系統管理者可以維護法律依據表")
    agency = session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise NotFound(f"沒有機關代碼 {agency_code}")
    statute, purpose = (statute or "").strip(), (purpose or "").strip()
    problems = {k: "請填寫" if not v else text_problem(v) or ("太長" if len(v) > limit else "")
                for k, v, limit in (("statute", statute, 200), ("purpose", purpose, 2000))}
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        raise Invalid(problems)
    if session.scalar(select(LegalBasis.id).where(LegalBasis.agency_id == agency.id, LegalBasis.statute == statute)):
        raise Conflict("這個法律依據已在表中")
    basis = LegalBasis(agency_id=agency.id, statute=statute, purpose=purpose)
    session.add(basis)
    session.flush()
    audit.record(session, "legal_basis_added", actor=actor, subject_type="agency", subject_id=agency.id, now=now,
                 basis_id=basis.id, statute=statute)
    session.commit()
    return basis


def retire_basis(session: Session, *, basis_id: int, actor: Person, now: datetime) -> LegalBasis:
    """Take a statute off an agency's list (kept for the registrations that named it); audited."""
    require_admin(actor, "只有系統管理者可以維護法律依據表")
    basis = session.get(LegalBasis, basis_id)
    if basis is None:
        raise NotFound(f"沒有法律依據 {basis_id}")
    if not basis.active:
        raise Conflict("這個法律依據已停用")
    basis.active = False
    audit.record(session, "legal_basis_retired", actor=actor, subject_type="agency", subject_id=basis.agency_id,
                 now=now, basis_id=basis.id, statute=basis.statute)
    session.commit()
    return basis
