"""Everyone told: a step arriving in someone's inbox, and the applicant when their application ends or returns.

The messages go through the bell and the e-mail outbox (``notify``), each person's choice per channel applied
there. They name the form, the applicant, the step and its due date in Taipei time with ROC dates, and link to
the task; they never carry a national ID number (nothing of the form's data is copied into them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import Application, ApplicationState, HumanTask, Role
from models.personal import Delivery

from ..calendar import roc_datetime_text
from ..forms import FORMS
from ..notify import notify

SCHEDULED = "（排程自動啟動）"


def _applicant(app: Application) -> str:
    return f"{app.applicant.name}（{app.agency.name}）" if app.applicant else f"{SCHEDULED}（{app.agency.name}）"


def _lines(app: Application, task: HumanTask | None = None) -> list[str]:
    lines = [f"表單：{FORMS[app.form_key].title}（案號 {app.id}）", f"申請人：{_applicant(app)}"]
    if task is not None:
        lines.append(f"步驟：{task.name}")
        lines.append(f"辦理期限：{roc_datetime_text(task.due_at) if task.due_at else '未訂'}")
    return lines


def announce_tasks(session: Session, app: Application,
                   opened: list[tuple[HumanTask, list[int], dict[int, tuple[Delivery, Delivery]] | None]],
                   data: dict[str, Any], now: datetime) -> None:
    """Tell the candidates of each step that just opened; an amend step tells the applicant what to correct.

    Each step comes with its people's ids and the channels they chose, when the read that named them read those
    too.
    """
    if app.id is None and any(people for _task, people, _chosen in opened):
        session.flush()  # a filing: its number is in the messages (the engine's work is done by now)
    for task, people, chosen in opened:
        if not people:
            continue
        link = lambda task=task: f"/tasks/{task.id}"  # noqa: E731 - the new step's id, known at the commit
        if task.role == Role.APPLICANT:
            body = [*_lines(app, task), f"應補正事項：{data.get('opinion') or '（未說明）'}",
                    "請依意見修改後重新送出，或撤回申請。"]
            subject = f"【退回補正】{FORMS[app.form_key].title}（案號 {app.id}）"
            notify(session, people, kind="returned", subject=subject, body="\n".join(body), now=now, link=link,
                   application=app, task=task, chosen=chosen)
            continue
        notify(session, people, kind="task_arrived", subject=f"【待辦】{task.name}（案號 {app.id}）",
               body="\n".join([*_lines(app, task), "此案件已送達您的待辦清單，請於期限內辦理。"]), now=now, link=link,
               application=app, task=task, chosen=chosen)


def announce_outcome(session: Session, app: Application, now: datetime) -> None:
    """The applicant learns that their application was approved or rejected (with the reason)."""
    if app.applicant is None or app.state not in (ApplicationState.COMPLETED, ApplicationState.REJECTED):
        return
    title = FORMS[app.form_key].title
    if app.state == ApplicationState.COMPLETED:
        subject, last = f"【核准】{title}（案號 {app.id}）", "您的申請已核准結案。"
    else:
        subject = f"【不同意】{title}（案號 {app.id}）"
        last = f"您的申請未獲同意，理由：{app.outcome_reason or '（未說明）'}"
    notify(session, [app.applicant], kind="outcome", subject=subject, body="\n".join([*_lines(app), last]),
           now=now, link=f"/applications/{app.id}", application=app)
