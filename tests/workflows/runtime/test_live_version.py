"""The version a new filing starts on, looked up in one statement, by the rule of ``live_definition``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Agency, FormChain, ProcessDefinition
from tests.statements import statements
from workflows.editor.deploy import map_layer_chains
from workflows.errors import NotFound
from workflows.forms import FORMS
from workflows.runtime.diagrams import latest_version, live_definition, live_version


def by_the_rule(session, form_key, agency_id):
    """The two-step lookup: the live process, then its latest version."""
    return latest_version(session, live_definition(session, form_key, agency_id).key).id


def every_case(session):
    agencies = [None, *session.scalars(select(Agency.id).order_by(Agency.id))]
    deployed = set(session.scalars(select(ProcessDefinition.form_key)))
    return [(form, agency) for form in sorted(FORMS) if form in deployed for agency in agencies]


def test_every_form_for_every_agency_starts_where_the_rule_says(session):
    cases = every_case(session)
    assert len(cases) > 50
    assert {(f, a): live_version(session, f, a).id for f, a in cases} == {
        (f, a): by_the_rule(session, f, a) for f, a in cases}


def test_an_agency_s_own_chain_then_the_city_s_choice_then_the_process_keyed_as_the_form(session):
    map_layer_chains(session, "KHH-SW")  # 社會局's own 附表1 / 附表2 chains: form_chain rows with the agency
    sw = session.scalar(select(Agency.id).where(Agency.code == "KHH-SW"))
    other = session.scalar(select(Agency.id).where(Agency.code != "KHH-SW").order_by(Agency.id))
    assert live_version(session, "query_registration", sw).definition.key == "query_registration_khh_sw"
    assert live_version(session, "query_registration", other).definition.key == "query_registration"
    assert live_version(session, "query_registration", None).definition.key == "query_registration"

    # The city's row (an administrator's choice) wins over the process keyed as the form, not over the agency's.
    layer = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == "query_registration_khh_sw"))
    session.add(FormChain(form_key="query_registration", agency_id=None, definition=layer))
    session.flush()
    assert live_version(session, "query_registration", other).definition.key == "query_registration_khh_sw"
    cases = every_case(session)
    assert {(f, a): live_version(session, f, a).id for f, a in cases} == {
        (f, a): by_the_rule(session, f, a) for f, a in cases}


def test_one_statement_and_the_process_comes_with_it(engine, session):
    with statements(engine) as seen:
        version = live_version(session, "manager_account", None)
        key = version.definition.key
    assert key == "manager_account" and len(seen) == 1


def test_a_form_with_nothing_deployed_is_not_found(session):
    with pytest.raises(NotFound, match="還沒有部署任何流程"):
        live_version(session, "no_such_form", None)
