"""A pack declares a file as a form field (Taoyuan's consent, Taipei's proxy authorisation): the loader takes the
type, and filing checks and binds the files it names."""

from __future__ import annotations

import pytest

from tests import files
from tests.conftest import NOW, registration
from tests.workflows.packs.test_pack_checks import copy_pack, read, write
from workflows import forms, jurisdiction
from workflows.attachments.records import Upload, add_draft
from workflows.errors import Invalid
from workflows.filing.applications import submit_application

BASIS = {"name": "basis_kind", "label": "查調依據", "type": "choice", "required": True,
         "choices": {"statute": "法律規定", "consent": "當事人書面同意"}}
CONSENT = {"name": "consent", "label": "當事人同意書", "type": "attachment", "required": True,
           "required_when": {"basis_kind": ["consent"]}, "source": "004 第四點第五款第二目"}


@pytest.fixture
def consent_pack(tmp_path):
    folder = copy_pack(tmp_path, "consent")
    pack = read(folder, "pack.yaml")
    pack["key"] = "consent"
    pack["forms"]["query_registration"]["fields"] += [BASIS, CONSENT]
    write(folder, "pack.yaml", pack)
    loaded, problems = jurisdiction.load_pack("consent", tmp_path)
    assert problems == []
    jurisdiction.activate("consent", tmp_path, pack=loaded)
    yield loaded
    jurisdiction.activate("kaohsiung")


def test_a_packs_attachment_field_is_required_when_its_condition_holds_and_binds_the_draft(session, person,
                                                                                           consent_pack):
    field = next(f for f in forms.FORMS["query_registration"].fields if f.name == "consent")
    assert (field.type, field.required_when) == ("attachment", ("basis_kind", ("consent",)))
    applicant = person("applicant")
    by_statute = submit_application(session, form_key="query_registration",
                                    data=registration(basis_kind="statute"), actor=applicant, now=NOW)
    assert by_statute.data["consent"] == []
    with pytest.raises(Invalid) as missing:
        submit_application(session, form_key="query_registration", data=registration(basis_kind="consent"),
                           actor=applicant, now=NOW)
    assert missing.value.errors == {"consent": "「當事人同意書」為必填"}
    signed = add_draft(session, upload=Upload(files.jpeg(), "同意書.jpg"), actor=applicant, now=NOW)
    app = submit_application(session, form_key="query_registration",
                             data=registration(basis_kind="consent", consent=[signed.id]), actor=applicant,
                             now=NOW)
    session.refresh(signed)
    assert (signed.application_id, signed.field, app.data["consent"]) == (app.id, "consent", [signed.id])
