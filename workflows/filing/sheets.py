"""The printed sheet: an application in the layout of its official form (附表), with its sign-off chain.

The sheet shows what the application page shows, to the same readers: personal numbers masked (a reveal is a
step holder's recorded act on the page, never part of a print-out), a 404 for an application the reader may
not see. A selection prints as one file, at most ``MAX_SHEETS`` applications.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import Person

from ..errors import Invalid
from ..forms import FormSpec, form_for
from .reads import ApplicationView, get_application_view

MAX_SHEETS = 20  # per file: about 0.4 s of layout each; a larger selection is refused with a message


@dataclass(frozen=True)
class Sheet:
    view: ApplicationView
    form: FormSpec
    annex: str | None  # 附表二: the official form's number in its rule book, when it has one
    printed_at: datetime


def annex_of(form: FormSpec) -> str | None:
    """The first 附表 the form's source names (000 附表二 → 附表二); None for a form with no official sheet."""
    found = re.search(r"附表[一二三四五六七八九十0-9]+", form.source)
    return found.group(0) if found else None


def get_sheets(session: Session, application_ids: list[int], viewer: Person, now: datetime) -> list[Sheet]:
    """The sheets of these applications in the order given (each once); 404 if the viewer may not see one."""
    ids = list(dict.fromkeys(application_ids))
    if not ids:
        raise Invalid({"ids": "請先勾選要列印的案件"})
    if (count := len(ids)) > MAX_SHEETS:
        raise Invalid({"ids": f"一次最多列印 {MAX_SHEETS} 件，已勾選 {count} 件，請分批列印"})
    views = [get_application_view(session, i, viewer) for i in ids]
    forms = [form_for(v.form_key, process=v.definition_key) for v in views]  # an agency's own form (003 附表1)
    return [Sheet(v, form, annex_of(form), now) for v, form in zip(views, forms, strict=True)]
