"""Which process runs a form's new filings: an administrator switches a form's live chain between processes.

A diagram names the form it starts (its ``form`` property, else its key); several processes may start one form
(a redrawn chain under a new key, tried beside the old one). New filings start on the latest version of the
form's live process (``runtime.diagrams.live_definition``); applications already running finish on theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import DefinitionVersion, FormChain, Person, ProcessDefinition

from .. import audit
from ..access import require_admin
from ..errors import Conflict, Invalid, NotFound
from ..forms import FORMS
from ..runtime.diagrams import live_definition


@dataclass(frozen=True)
class ChainChoice:
    """A process that starts the form, with its latest version number."""

    key: str
    name: str
    latest_version: int


@dataclass(frozen=True)
class FormChainRow:
    """One form: the process its new filings start on now, and every process that may run it."""

    form_key: str
    title: str
    live: str | None  # None: no process deployed for this form yet
    chosen: bool  # an administrator picked the live process (else it is the default: keyed as the form)
    processes: list[ChainChoice]


def list_form_chains(session: Session, *, actor: Person) -> list[FormChainRow]:
    """Every form with a deployed process, its live chain and the processes it may switch to."""
    require_admin(actor)
    rows = session.execute(select(ProcessDefinition.form_key, ProcessDefinition.key, ProcessDefinition.name,
                                  func.max(DefinitionVersion.version))
                           .join(DefinitionVersion).group_by(ProcessDefinition.id)
                           .order_by(ProcessDefinition.form_key, ProcessDefinition.key)).all()
    chosen = set(session.scalars(select(FormChain.form_key)))
    by_form: dict[str, list[ChainChoice]] = {}
    for form_key, key, name, latest in rows:
        by_form.setdefault(form_key, []).append(ChainChoice(key, name, latest))
    return [FormChainRow(form_key, FORMS[form_key].title if form_key in FORMS else form_key,
                         live_definition(session, form_key).key, form_key in chosen, choices)
            for form_key, choices in by_form.items()]


def switch_form_chain(session: Session, *, form_key: str, process_key: str, actor: Person, now: datetime,
                      note: str) -> FormChain:
    """Make ``process_key`` run the form's new filings from now on, and commit; running applications stay put."""
    require_admin(actor)
    if form_key not in FORMS:
        raise NotFound(f"沒有表單「{form_key}」")
    if not note.strip():
        raise Invalid({"note": "請填寫切換原因"})
    target = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == process_key))
    if target is None:
        raise Invalid({"process": f"沒有部署流程「{process_key}」"})
    if target.form_key != form_key:
        raise Invalid({"process": f"流程「{process_key}」啟動的是表單「{target.form_key}」，不是「{form_key}」"})
    current = live_definition(session, form_key)
    if current.id == target.id:
        raise Conflict(f"表單「{form_key}」目前已由流程「{process_key}」辦理")
    chain = session.get(FormChain, form_key) or FormChain(form_key=form_key)
    chain.definition, chain.switched_by_id, chain.switched_at = target, actor.id, now
    session.add(chain)
    session.flush()
    audit.record(session, "form_chain_switched", actor=actor, subject_type="process_definition",
                 subject_id=target.id, now=now,
                 form=form_key, from_process=current.key, to_process=target.key, note=note.strip())
    session.commit()
    return chain
