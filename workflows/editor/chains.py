"""Which process runs a form's new filings: an administrator switches a form's live chain between processes.

A diagram names the form it starts (its ``form`` property, else its key); several processes may start one form
(a redrawn chain under a new key, tried beside the old one). New filings start on the latest version of the
form's live process (``runtime.diagrams.live_definition``); applications already running finish on theirs.
An agency layer (``bpmn/<city>/agencies/<code>/``) gives its agency's filers their own chain of a form: a row of its
own per (form, agency), switched the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Agency, DefinitionVersion, FormChain, Person, ProcessDefinition

from .. import agency_rules, audit
from ..access import require_admin
from ..errors import Conflict, Invalid, NotFound
from ..forms import FORMS, form_title
from ..runtime.diagrams import form_chain, live_definition


def agency_processes() -> dict[str, str]:
    """The agency layers' own processes of city forms: process key → the agency whose filers it is for."""
    return {process: layer.code for layer in agency_rules.LAYERS.values()
            for form, process in layer.processes.items() if form in layer.replaces}


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
    agency: str | None = None  # the agency whose filers this row is for (an agency layer's chain); None: the city
    agency_name: str | None = None


def list_form_chains(session: Session, *, actor: Person) -> list[FormChainRow]:
    """Every form with a deployed process, its live chain and the processes it may switch to."""
    require_admin(actor)
    rows = session.execute(select(ProcessDefinition.form_key, ProcessDefinition.key, ProcessDefinition.name,
                                  func.max(DefinitionVersion.version))
                           .join(DefinitionVersion).group_by(ProcessDefinition.id)
                           .order_by(ProcessDefinition.form_key, ProcessDefinition.key)).all()
    chains = session.scalars(select(FormChain)).all()
    chosen = {c.form_key for c in chains if c.agency_id is None}
    by_form: dict[str, list[ChainChoice]] = {}
    for form_key, key, name, latest in rows:
        by_form.setdefault(form_key, []).append(ChainChoice(key, name, latest))
    own = agency_processes()  # an agency layer's processes are choices for that agency's row only
    out = [FormChainRow(form_key, FORMS[form_key].title if form_key in FORMS else form_key,
                        live_definition(session, form_key).key, form_key in chosen,
                        [c for c in choices if c.key not in own])
           for form_key, choices in by_form.items()]
    agencies = {a.id: a for a in session.scalars(select(Agency).where(
        Agency.id.in_([c.agency_id for c in chains if c.agency_id is not None])))}
    for chain in sorted((c for c in chains if c.agency_id is not None),
                        key=lambda c: (c.form_key, agencies[c.agency_id].code)):
        agency = agencies[chain.agency_id]
        choices = [c for c in by_form.get(chain.form_key, []) if own.get(c.key, agency.code) == agency.code]
        out.append(FormChainRow(chain.form_key, form_title(chain.form_key, agency.code, chain.definition.key),
                                chain.definition.key, chain.switched_by_id is not None, choices, agency.code,
                                agency.name))
    return out


def switch_form_chain(session: Session, *, form_key: str, process_key: str, actor: Person, now: datetime,
                      note: str, agency: str | None = None) -> FormChain:
    """Make ``process_key`` run the form's new filings from now on (by the filers of ``agency``, an agency code, when
    given), and commit; running applications stay put."""
    require_admin(actor)
    if form_key not in FORMS:
        raise NotFound(f"沒有表單「{form_key}」")
    for_agency = None
    if agency is not None:
        for_agency = session.scalar(select(Agency).where(Agency.code == agency))
        if for_agency is None:
            raise Invalid({"agency": f"沒有機關「{agency}」"})
    if not note.strip():
        raise Invalid({"note": "請填寫切換原因"})
    target = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == process_key))
    if target is None:
        raise Invalid({"process": f"沒有部署流程「{process_key}」"})
    if target.form_key != form_key:
        raise Invalid({"process": f"流程「{process_key}」啟動的是表單「{target.form_key}」，不是「{form_key}」"})
    if agency_processes().get(process_key, agency) != agency:
        raise Invalid({"process": f"流程「{process_key}」是{agency_processes()[process_key]}自己的流程，"
                                  "只能用於該機關的申請人"})
    agency_id = for_agency.id if for_agency else None
    current = live_definition(session, form_key, agency_id)
    if current.id == target.id:
        raise Conflict(f"表單「{form_key}」目前已由流程「{process_key}」辦理")
    chain = form_chain(session, form_key, agency_id) or FormChain(form_key=form_key, agency_id=agency_id)
    chain.definition, chain.switched_by_id, chain.switched_at = target, actor.id, now
    session.add(chain)
    session.flush()
    audit.record(session, "form_chain_switched", actor=actor, subject_type="process_definition",
                 subject_id=target.id, now=now,
                 form=form_key, from_process=current.key, to_process=target.key, note=note.strip(),
                 **({"agency": agency} if agency else {}))
    session.commit()
    return chain
