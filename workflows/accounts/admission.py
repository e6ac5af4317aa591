"""Which agencies may use WebIR: admitted by 勞工局, suspended or terminated by 勞保局, admitted again.

000 第二點第三款 and 001 第二點第三款: a requesting agency is one 勞工局 agreed may use WebIR, with its legal
bases and purposes (001 第四點 附表). 001 第十二點第六款: 勞保局 suspends or terminates an agency that did not
improve by its deadline; 第七款: after improving, the agency applies again with proof.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency, AgencyKind, Application, LegalBasis, Person, Role, RoleHolding

from ..calendar import local_date
from ..notify import notify
from ..settings import SETTINGS

SUSPENSION_CLAUSE = "001 第十二點第六款"
MEASURES = {"suspend": "暫停", "terminate": "終止"}
# What a suspended agency may no longer file: queries and accounts (a deletion still goes through).
BARRED_FORMS = frozenset({"query_registration", "querier_account", "manager_account", "query_items_change"})


def suspension_refusal(agency: Agency, on: date, form_key: str, data: dict[str, Any]) -> str | None:
    """Why this agency may not file this form on this day, or None."""
    if form_key not in BARRED_FORMS or data.get("request_type") == "delete":
        return None
    if agency.suspended_on is None or agency.suspended_on > on:
        return None
    return (f"依{SUSPENSION_CLAUSE}，勞保局已自 {agency.suspended_on.isoformat()} 起暫停或終止本機關之勞保 WebIR "
            "資料提供作業，暫停期間不得申請查詢或帳號；改善完成後由機關首長檢附佐證資料重新申請（001 第十二點第七款）")


def unadmitted_refusal(agency: Agency, form_key: str, data: dict[str, Any]) -> str | None:
    """Why a requesting agency the authority never admitted may not file this form, or None (001 第二點第三款:
    a 資料需求機關 is one 權責管理機關 agreed may use WebIR). Off where the pack sets no ``admission_rule``."""
    clause = SETTINGS.admission_rule
    if clause is None or form_key not in BARRED_FORMS or data.get("request_type") == "delete":
        return None
    if agency.admitted_on is not None or not agency.has_kind(AgencyKind.REQUESTING):
        return None
    return (f"依{clause}，資料需求機關須經權責管理機關同意使用勞保 WebIR；本機關尚未經同意，"
            "不得申請查詢、帳號或查調項目，請由機關首長先提出「資料需求機關申請使用勞保 WebIR」")


def admission_errors(agency: Agency, data: dict[str, Any]) -> dict[str, str]:
    if data["request_type"] == "readmit" and agency.suspended_on is None:
        return {"request_type": "本機關未經勞保局暫停或終止，無需重新申請"}
    if data["request_type"] == "admit" and agency.admitted_on is not None:
        return {"request_type": f"本機關已於 {agency.admitted_on.isoformat()} 經勞工局同意使用勞保 WebIR"}
    return {}


def find_requesting_agency(session: Session, code: str, city: str) -> Agency | None:
    return session.scalar(select(Agency).where(Agency.code == code, Agency.city == city, Agency.has_kind(
        AgencyKind.REQUESTING) | Agency.has_kind(AgencyKind.AUTHORITY)))


def suspension_errors(session: Session, actor: Person, data: dict[str, Any]) -> dict[str, str]:
    agency = find_requesting_agency(session, data["agency_code"], actor.agency.city)
    if agency is None:
        return {"agency_code": f"查無資料需求機關「{data['agency_code']}」"}
    if agency.suspended_on is not None:
        return {"agency_code": f"{agency.name}已自 {agency.suspended_on.isoformat()} 起暫停或終止"}
    return {}


def split_statutes(text: str | None) -> list[str]:
    """「甲法第一條；乙法第二條」 → each statute: one a line, or separated by ；or ; (、 joins articles of one law)."""
    return [part[:200] for part in (p.strip(" 　，,。") for p in re.split(r"[；;\n]+", text or "")) if part]


def add_bases(session: Session, agency: Agency, text: str | None, purpose: str | None,
              application_id: int | None = None) -> list[str]:
    """The statutes of ``text`` into the agency's legal-basis table (one source: 001 附表 as data); one already
    there is kept (active again if it was retired). The statutes added."""
    rows = {b.statute: b for b in session.scalars(select(LegalBasis).where(LegalBasis.agency_id == agency.id))}
    added = []
    for statute in split_statutes(text):
        if statute in rows:
            rows[statute].active = True
            continue
        rows[statute] = LegalBasis(agency_id=agency.id, statute=statute, purpose=purpose, application_id=application_id)
        session.add(rows[statute])
        added.append(statute)
    return added


def apply_admission(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    """勞工局 agreed: the agency's record carries the date and purposes, its legal-basis table the bases the
    admission lists; a suspension ends."""
    agency = app.agency
    agency.admitted_on = local_date(now)
    agency.purposes = data["purposes"]
    added = add_bases(session, agency, data["legal_bases"], data["purposes"], app.id)
    readmitted = data["request_type"] == "readmit"
    if readmitted:
        agency.suspended_on = agency.suspension_reason = None
    return {"agency": agency.code, "admitted_on": agency.admitted_on.isoformat(), "readmitted": readmitted,
            "legal_bases_added": added}


def apply_suspension(session: Session, app: Application, data: dict[str, Any], now: datetime) -> dict:
    """勞保局's suspension recorded by 勞工局: the agency files no queries or accounts from the date; its head and
    managers are told."""
    # 勞保局's liaison is filed under the city it serves (the demo's 勞保局 row belongs to the city).
    agency = find_requesting_agency(session, data["agency_code"], app.agency.city)
    agency.suspended_on = date.fromisoformat(data["effective_date"])
    measure = MEASURES[data["measure"]]
    agency.suspension_reason = f"{measure}：{data['reason']}（勞保局 {data['bureau_letter_no']}）"
    today = local_date(now)
    people = [h.person for h in session.scalars(select(RoleHolding).where(
        RoleHolding.agency_id == agency.id, RoleHolding.role.in_((Role.AGENCY_HEAD, Role.AGENCY_MANAGER)),
        RoleHolding.valid_on(today)))]
    notify(session, people, kind="suspension", now=now, application=app,
           subject=f"【勞保 WebIR】本機關資料提供作業自 {agency.suspended_on.isoformat()} 起{measure}",
           body=f"{agency.suspension_reason}。依{SUSPENSION_CLAUSE}，"
                "改善完成後請檢附佐證資料重新申請（001 第十二點第七款）。")
    return {"agency": agency.code, "suspended_on": agency.suspended_on.isoformat(), "measure": data["measure"]}
