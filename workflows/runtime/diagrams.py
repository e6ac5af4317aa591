"""Deployed versions of a diagram, looked up and parsed once per process for running."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from models import DefinitionVersion, FormChain, ProcessDefinition

from ..engine import ParsedDiagram, parse_diagram
from ..errors import NotFound

# Parsed diagrams by version, least recently used first; ~200 KB each, so the oldest go beyond this many.
CACHE_SIZE = 64
_cache: OrderedDict[tuple[int, str], ParsedDiagram] = OrderedDict()
_cache_lock = threading.Lock()


def get_version(session: Session, key: str, number: int) -> DefinitionVersion:
    version = session.scalar(select(DefinitionVersion).join(ProcessDefinition).where(
        ProcessDefinition.key == key, DefinitionVersion.version == number))
    if version is None:
        raise NotFound(f"「{key}」沒有第 {number} 版")
    return version


def latest_version(session: Session, key: str) -> DefinitionVersion:
    version = session.scalar(
        select(DefinitionVersion).join(ProcessDefinition).where(ProcessDefinition.key == key)
        .order_by(DefinitionVersion.version.desc()).limit(1))
    if version is None:
        raise NotFound(f"no deployed diagram for '{key}'")
    return version


def form_chain(session: Session, form_key: str, agency_id: int | None) -> FormChain | None:
    """The mapping row of a form for one agency's filers (``agency_id``) or for the city (None)."""
    agency = FormChain.agency_id.is_(None) if agency_id is None else FormChain.agency_id == agency_id
    return session.scalar(select(FormChain).where(FormChain.form_key == form_key, agency))


def live_definition(session: Session, form_key: str, agency_id: int | None = None) -> ProcessDefinition:
    """The process that runs this form's new filings by a person of ``agency_id``: that agency's own chain (an
    agency layer's, or an administrator's choice for it), else the city's — the administrator's choice
    (``FormChain`` without an agency), else the process keyed as the form, else the first one deployed for it."""
    chosen = (agency_id is not None and form_chain(session, form_key, agency_id)) or form_chain(session, form_key, None)
    if chosen:
        return chosen.definition
    definition = session.scalar(select(ProcessDefinition).where(ProcessDefinition.form_key == form_key)
                                .order_by(ProcessDefinition.key != form_key, ProcessDefinition.id).limit(1))
    if definition is None:
        raise NotFound(f"表單「{form_key}」還沒有部署任何流程")
    return definition


_CHAINS, _PROCESSES = FormChain.__table__, ProcessDefinition.__table__
_FORM = bindparam("form")
# live_definition's rule in one statement, built once: the agency's own chain, else the city's choice, else the
# process keyed as the form, else the first deployed for it; then that process's latest version with its process.
_LIVE = func.coalesce(
    select(_CHAINS.c.definition_id).where(_CHAINS.c.form_key == _FORM, _CHAINS.c.agency_id == bindparam("agency"))
    .scalar_subquery(),
    select(_CHAINS.c.definition_id).where(_CHAINS.c.form_key == _FORM, _CHAINS.c.agency_id.is_(None))
    .order_by(_CHAINS.c.id).limit(1).scalar_subquery(),
    select(_PROCESSES.c.id).where(_PROCESSES.c.form_key == _FORM).order_by(_PROCESSES.c.key != _FORM, _PROCESSES.c.id)
    .limit(1).scalar_subquery())
_LIVE_VERSION = (select(DefinitionVersion).join(DefinitionVersion.definition)
                 .options(contains_eager(DefinitionVersion.definition)).where(ProcessDefinition.id == _LIVE)
                 .order_by(DefinitionVersion.version.desc()).limit(1))


def live_version(session: Session, form_key: str, agency_id: int | None = None) -> DefinitionVersion:
    """The version a new filing of this form (by a person of ``agency_id``) starts on: the latest of its live
    process (``live_definition``), in one statement."""
    version = session.scalar(_LIVE_VERSION, {"form": form_key, "agency": agency_id})
    if version is None:  # nothing deployed: the two-step lookup says which part is missing
        return latest_version(session, live_definition(session, form_key, agency_id).key)
    return version


def load_diagram(version: DefinitionVersion) -> ParsedDiagram:
    """The parsed diagram of a version, parsed once per process while it is in use (content-addressed,
    bounded LRU: with hundreds of versions deployed only the most recently used stay parsed).

    The key uses columns of the version row only, and the XML is a deferred column: a cache hit
    (every step and every timer wake) reads neither the 16 KB of XML nor the definition row.
    """
    key = (version.definition_id, version.sha256)
    with _cache_lock:
        diagram = _cache.get(key)
        if diagram is not None:
            _cache.move_to_end(key)
            return diagram
    diagram = parse_diagram(version.bpmn_xml, version.definition.key)
    with _cache_lock:
        diagram = _cache.setdefault(key, diagram)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return diagram
