"""The legal-basis table of 001 (附表): for each requesting agency, the statutes its queries rest on, and why.

Administrators keep it (``add_basis``, ``retire_basis``); reconciliation flags a registration whose legal
basis names no statute of its agency's table (``basis_listed``). A registration names its basis in its own
words ("社會救助法第四十四條之三"), so the comparison is by the law's name: the text before its first article
(第…條), which is how the table's entries begin too.
"""

from __future__ import annotations

import re
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

# 001_caa5ae0843cf2933.txt 附表, per agency code of the demo city: (statute, scope and purpose). The seed's text
# is damaged by its extraction (勞動準準法, 人人利利法 …); the statutes are written here by their proper names.
LABOUR_PURPOSE = "辦理勞政案件審查、給付及補助等相關業務，查詢案件當事人或關係人相關資料。"
WELFARE_PURPOSE = ("辦理社會福利相關業務（低收入戶、中低收入戶、身心障礙者生活補助、中低收入老人生活津貼、急難救助、"
                   "經濟弱勢市民醫療補助、育有未滿二歲兒童育兒津貼、單親家庭子女生活補助、單親家庭子女教育補助之申請"
                   "及申復），查詢個案當事人或關係人相關資料。")
KAOHSIUNG_BASES: dict[str, list[tuple[str, str]]] = {
    "KHH-LAB": [(s, LABOUR_PURPOSE) for s in (
        "勞動基準法第五十五條、第五十八條及第七十三條",
        "勞工退休金條例第十一條及第十三條",
        "就業服務法第五條、第三十三條、第四十條、第四十三條、第四十四條、第四十五條、第五十七條",
        "性別平等工作法第七條至第十三條及第三十二條之一",
        "中高齡者及高齡者就業促進法第十二條第一項",
        "大量解僱勞工保護法第二條及第四條",
        "身心障礙者權益保障法第三十八條",
        "高雄市勞工權益基金補助辦法第六條第三項及第七條",
        "高雄市超額進用身心障礙者獎勵辦法第四條、第六條及第七條",
        "高雄市身心障礙者自力更生補助辦法第三條及第十四條",
        "高雄市勞工職業災害慰問金發放辦法第四條及第六條",
        "地方主管機關辦理核發事業單位歇業事實之證明文件應行注意事項第六點",
    )],
    "KHH-SW": [(s, WELFARE_PURPOSE) for s in (
        "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項",
        "老人福利法第十二條之一第二項及第四十三條第三項",
        "身心障礙者權益保障法第四十二條第一項",
        "兒童及少年福利與權益保障法第七十條第三項",
        "特殊境遇家庭扶助條例第十五條之一第一項",
        "老人保護通報及處理辦法第六條",
        "身心障礙者參加社會保險保險費補助辦法第九條第三項",
        "育有未滿二歲兒童育兒津貼申請作業要點第八點第二款",
    )],
    "KHH-EP": [(s, "辦理環保違規稽查業務，查詢案件當事人或關係人相關資料。") for s in (
        "空氣污染防制法第三十二條及第六十七條",
        "強制執行法第十九條及第一百十五條",
        "行政罰法第七條第二項",
    )],
    "KHH-YB": [("高雄市政府青年築夢高雄獎勵金發給要點第三點及第五點",
                "辦理移居獎勵金申請案之審查業務，查詢申請人相關資料。")],
    "KHH-HB": [("長期照顧服務法第三十二條之二及第四十八條之一",
                "辦理長期照顧業務，查詢長照特約單位所屬長照人員相關資料。")],
}

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


def seed_bases(session: Session, agencies: dict[str, Agency]) -> None:
    """The city's table as 001 附表 has it (the demo city)."""
    for code, rows in KAOHSIUNG_BASES.items():
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


def list_bases(session: Session, agency_code: str | None = None) -> list[BasisRow]:
    """The table, by agency; anyone signed in may read it (a querier picks from it)."""
    query = select(LegalBasis, Agency).join(Agency, Agency.id == LegalBasis.agency_id).order_by(Agency.id,
                                                                                                LegalBasis.id)
    if agency_code:
        query = query.where(Agency.code == agency_code)
    return [BasisRow(b.id, a.name, a.code, b.statute, b.purpose, b.active) for b, a in session.execute(query)]


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
