"""Demo organisation for Kaohsiung City (001_caa5ae0843cf2933.txt, 附表): every role has a person."""

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

from . import agency_rules
from .calendar import local_date
from .editor.deploy import deploy_directory
from .oversight.bases import seed_bases

CITY = "kaohsiung"
DEMO_PASSWORD = "demo"
_LETTERS = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))

# (code, name, kind, permitted items)
AGENCIES = [
    ("KHH-LAB", "高雄市政府勞工局", AgencyKind.AUTHORITY, ["C0101", "C0201", "C0401", "B0101", "B0201", "B0301",
                                                       "P0101", "P0201", "P0301"]),
    ("KHH-IT", "高雄市政府資訊處", AgencyKind.CENTRAL, []),
    ("KHH-SW", "高雄市政府社會局", AgencyKind.REQUESTING, ["C0101", "B0101", "B0201", "B0301", "P0301", "N0101",
                                                        "T0101", "B0401", "P0401"]),
    ("KHH-EP", "高雄市政府環境保護局", AgencyKind.REQUESTING, ["C0101", "C0401"]),
    ("KHH-YB", "高雄市政府青年局", AgencyKind.REQUESTING, ["C0101"]),
    ("KHH-HB", "高雄市政府衛生局", AgencyKind.REQUESTING, ["C0101", "C0201"]),
    ("BLI", "勞動部勞工保險局", AgencyKind.BUREAU, []),
    # Not a WebIR user itself: asks 社會局's responsible unit to query for it (003 §5 ¶3, 附表3).
    ("KHH-FS", "高雄市鳳山區公所", None, []),
]
# Agencies doing social-welfare work on behalf of another (003 §5 ¶3; 002 §4): code → commissioning agency.
COMMISSIONED_BY = {"KHH-FS": "KHH-SW"}

# Agencies whose own rules allow one agency manager (權限管理者) only: the clause that says so, from the agency's
# layer (bpmn/kaohsiung/agencies/<code>/pack.yaml, settings.single_manager_rule).
SINGLE_MANAGER_RULES = {code: rule for code, layer in agency_rules.LAYERS.items()
                        if (rule := layer.settings.get("single_manager_rule"))}

# Admitted by 勞工局 with the legal bases and purposes of 001_caa5ae0843cf2933.txt 附表 (abridged where long).
ADMISSIONS = {
    "KHH-LAB": ("勞動基準法第五十五條、第五十八條及第七十三條；勞工退休金條例第十一條及第十三條；"
                "就業服務法第五條等（附表第1至12目）",
                "辦理勞政案件審查、給付及補助等相關業務，查詢案件當事人或關係人相關資料"),
    "KHH-SW": ("社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項；"
               "身心障礙者權益保障法第四十二條第一項等（附表第1至8目）",
               "辦理社會福利相關業務（低收入戶、中低收入戶、身心障礙者生活補助等），查詢個案當事人或關係人相關資料"),
    "KHH-EP": ("空氣污染防制法第三十二條及第六十七條；行政執行法第十九條及第一百十五條；"
               "行政罰法第七條第二項",
               "辦理環保違規稽查業務，查詢案件當事人或關係人相關資料"),
    "KHH-YB": ("高雄市政府青年築夢高雄獎勵金發給要點第三點及第五點",
               "辦理移居獎勵金申請案之審查業務，查詢申請人相關資料"),
    "KHH-HB": ("長期照顧服務法第三十二條之二及第四十八條之一",
               "辦理長期照顧業務，查詢長照特約單位所屬長照人員相關資料"),
}

# (username, name, title, agency code, unit name, roles held)
PEOPLE = [
    ("applicant", "林怡君", "社會工作員", "KHH-SW", "社會救助科", [Role.QUERIER]),
    ("sw_staff", "吳佩珊", "科員", "KHH-SW", "社會救助科", []),
    ("sw_unit_head", "陳志明", "科長", "KHH-SW", "社會救助科", [Role.UNIT_HEAD]),
    ("manager", "王美玲", "資訊管理師", "KHH-SW", "秘書室資訊小組", [Role.AGENCY_MANAGER]),
    ("sw_it_head", "張國華", "秘書室主任", "KHH-SW", "秘書室資訊小組", [Role.UNIT_HEAD]),
    ("sw_head", "李文彬", "局長", "KHH-SW", "局長室", [Role.AGENCY_HEAD]),
    ("sw_deputy", "黃淑芬", "主任秘書", "KHH-SW", "局長室", []),
    ("sw_auditor", "周志豪", "政風室主任", "KHH-SW", "政風室", [Role.AUDITOR]),
    ("labor_clerk", "許雅婷", "科員", "KHH-LAB", "綜合規劃科", [Role.AUTHORITY_CLERK]),
    ("labor_chief", "蔡宗翰", "科長", "KHH-LAB", "綜合規劃科", [Role.AUTHORITY_SECTION_HEAD, Role.UNIT_HEAD]),
    ("labor_director", "楊明德", "局長", "KHH-LAB", "局長室", [Role.AUTHORITY_DIRECTOR, Role.AGENCY_HEAD]),
    ("labor_manager", "鄭羽彤", "資訊管理師", "KHH-LAB", "綜合規劃科", [Role.AGENCY_MANAGER]),
    ("it_clerk", "劉家豪", "設計師", "KHH-IT", "資訊服務科", [Role.CENTRAL_CLERK]),
    ("it_chief", "郭怡萱", "科長", "KHH-IT", "資訊服務科", [Role.CENTRAL_SECTION_HEAD, Role.UNIT_HEAD]),
    ("it_director", "謝文傑", "處長", "KHH-IT", "處長室", [Role.CENTRAL_DIRECTOR, Role.AGENCY_HEAD]),
    ("admin", "系統管理者", "系統管理者", "KHH-IT", "資訊服務科", [Role.ADMIN]),
    ("bli_liaison", "邱淑惠", "勞保局窗口", "BLI", "資訊處", [Role.BUREAU_LIAISON]),
    ("ep_querier", "洪俊傑", "稽查員", "KHH-EP", "空氣品質科", [Role.QUERIER]),
    ("ep_unit_head", "曾美華", "科長", "KHH-EP", "空氣品質科", [Role.UNIT_HEAD]),
    ("ep_head", "羅志強", "局長", "KHH-EP", "局長室", [Role.AGENCY_HEAD]),
    ("ep_manager", "江佳穎", "管理師", "KHH-EP", "空氣品質科", [Role.AGENCY_MANAGER]),
    ("yb_querier", "潘冠宇", "專員", "KHH-YB", "青年發展科", [Role.QUERIER]),
    ("yb_unit_head", "簡若涵", "科長", "KHH-YB", "青年發展科", [Role.UNIT_HEAD]),
    ("yb_head", "葉承翰", "局長", "KHH-YB", "局長室", [Role.AGENCY_HEAD]),
    ("yb_manager", "方思妤", "管理師", "KHH-YB", "青年發展科", [Role.AGENCY_MANAGER]),
    ("hb_querier", "杜怡安", "技士", "KHH-HB", "長期照護科", [Role.QUERIER]),
    ("hb_unit_head", "范振宇", "科長", "KHH-HB", "長期照護科", [Role.UNIT_HEAD]),
    ("hb_head", "石佩君", "局長", "KHH-HB", "局長室", [Role.AGENCY_HEAD]),
    ("hb_manager", "高子軒", "管理師", "KHH-HB", "長期照護科", [Role.AGENCY_MANAGER]),
    ("sw_it_staff", "蘇建志", "資訊小組組長", "KHH-SW", "秘書室資訊小組", [Role.IT_UNIT]),  # joint audits (001 §12(2))
    # 鳳山區公所 asks 社會局 to query for it (003 附表3)
    ("fs_staff", "莊雅雯", "社會課課員", "KHH-FS", "社會課", []),
    ("fs_unit_head", "賴俊宏", "社會課課長", "KHH-FS", "社會課", [Role.UNIT_HEAD]),
]

# Querier accounts already granted: (username, items)
ACCOUNTS = [("applicant", ["C0101", "B0101", "B0201"]), ("ep_querier", ["C0101"]), ("yb_querier", ["C0101"]),
            ("hb_querier", ["C0101"])]
MANAGERS = ["manager", "labor_manager", "ep_manager", "yb_manager", "hb_manager"]


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
    if session.scalar(select(Person.id).where(Person.username == "admin")):
        deploy_directory(session, bpmn_dir, now=now, jurisdiction=CITY, include_history=include_history,
                         agency_chains=agency_chains)
        return False
    agencies = {code: Agency(code=code, name=name, kinds={kind} if kind else set(), city=CITY,
                             oid=f"2.16.886.101.{i:05d}", single_manager_rule=SINGLE_MANAGER_RULES.get(code))
                for i, (code, name, kind, _items) in enumerate(AGENCIES, start=20000)}
    for code, commissioning in COMMISSIONED_BY.items():
        agencies[code].commissioned_by = agencies[commissioning]
    today = local_date(now)
    for code, (legal_bases, purposes) in ADMISSIONS.items():
        agencies[code].admitted_on, agencies[code].legal_bases, agencies[code].purposes = today, legal_bases, purposes
    session.add_all(agencies.values())
    units: dict[tuple[str, str], Unit] = {}
    password_hash = generate_password_hash(DEMO_PASSWORD)
    people: dict[str, Person] = {}
    for n, (username, name, title, agency, unit_name, roles) in enumerate(PEOPLE, start=1):
        if (agency, unit_name) not in units:
            units[agency, unit_name] = Unit(agency=agencies[agency], name=unit_name)
            session.add(units[agency, unit_name])
        unit = units[agency, unit_name]
        person = Person(username=username, name=name, title=title, agency=agencies[agency], unit=unit,
                        email=f"{username}@demo.kcg.gov.tw", phone=f"07-33683{n:02d}",
                        national_id=valid_national_id("E", f"{1 + n % 2}{n:07d}"), password_hash=password_hash,
                        is_admin=Role.ADMIN in roles)
        person.roles = [RoleHolding(role=r, agency=agencies[agency], unit=unit) for r in roles]
        people[username] = person
    session.add_all(people.values())
    session.flush()
    for code, _name, _kind, items in AGENCIES:
        session.add_all(AgencyQueryItem(agency_id=agencies[code].id, item_code=c, granted_at=now) for c in items)
    seed_bases(session, agencies)
    session.add(Delegation(principal=people["sw_head"], delegate=people["sw_deputy"], role=Role.AGENCY_HEAD,
                           created_at=now))
    for username, items in ACCOUNTS:
        p = people[username]
        session.add(WebirAccount(person=p, agency_id=p.agency_id, kind=AccountKind.QUERIER, effective_on=today,
                                 egov_account=f"{username}.egov", items=[AccountItem(item_code=c) for c in items],
                                 created_at=now))
    for username in MANAGERS:
        p = people[username]
        session.add(WebirAccount(person=p, agency_id=p.agency_id, kind=AccountKind.MANAGER, effective_on=today,
                                 egov_account=f"{username}.egov", created_at=now))
    session.flush()
    deploy_directory(session, bpmn_dir, now=now, jurisdiction=CITY, include_history=include_history,
                     agency_chains=agency_chains)
    return True
