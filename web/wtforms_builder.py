"""Build WTForms classes from the form descriptions in workflows.forms (labels and errors in the UI language)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Optional

from workflows.forms import Field

from .i18n import tr_choice, tr_message

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"  # a hint to the file chooser; the core checks
LEGAL_BASIS_LIST = "legal-basis-options"  # the <datalist> of applications/new.html


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def choices(pairs, translate: bool = True) -> list[SelectChoice]:
    """Choices with their labels in the UI language (built per request, like the forms); names are data: as is."""
    return [SelectChoice(value, tr_choice(value, label) if translate else label) for value, label in pairs]


def _wt_field(f: Field):
    kw: dict[str, Any] = {"label": tr_message(f.label), "description": tr_message(f.help)}
    if f.type == "boolean":
        return BooleanField(**kw)
    if f.type == "multichoice":
        return CheckboxListField(choices=choices(f.choices), validators=[Optional()], **kw)
    if f.type == "choice":
        return RadioField(choices=choices(f.choices), validators=[Optional()], **kw)
    if f.type == "date":
        return DateField(validators=[Optional()], render_kw={"type": "date"}, **kw)
    if f.type == "text":
        return TextAreaField(render_kw={"rows": 3}, **kw)
    if f.type == "attachment":  # the files become drafts first; the field's value is their ids (web.attachments)
        return MultipleFileField(render_kw={"accept": ACCEPT}, **kw)
    if f.type == "legal_basis":  # the filer's agency's statutes offered by the page's datalist (any text allowed)
        return StringField(render_kw={"list": LEGAL_BASIS_LIST, "autocomplete": "off"}, **kw)
    # Field rules live in workflows.forms (one source for pages and API); errors come back via apply_errors.
    return StringField(**kw)


def form_class(fields: tuple[Field, ...], extra: dict[str, Any] | None = None) -> type[FlaskForm]:
    """A FlaskForm (CSRF included) with one WTForms field per described field."""
    attrs = {f.name: _wt_field(f) for f in fields}
    attrs.update(extra or {})
    return type("GeneratedForm", (FlaskForm,), attrs)


def form_data(fields: tuple[Field, ...], data: dict[str, Any]) -> dict[str, Any]:
    """Stored values as the WTForms fields hold them: a date field holds a date, not its ISO text."""
    out = dict(data)
    for f in fields:
        if f.type == "date" and isinstance(out.get(f.name), str):
            try:
                out[f.name] = date.fromisoformat(out[f.name])
            except ValueError:
                out[f.name] = None
    return out


def form_values(form: FlaskForm, fields: tuple[Field, ...]) -> dict[str, Any]:
    """The submitted values as plain data for the service layer to validate."""
    out: dict[str, Any] = {}
    for f in fields:
        value = form[f.name].data
        if f.type == "date" and value is not None:
            value = value.isoformat()
        if f.type == "attachment":
            continue  # files, not values: web.attachments.filed_files turns them into ids
        out[f.name] = value
    return out


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """Show the service layer's errors next to their fields, in the UI language where the catalogue has them."""
    for name, message in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, tr_message(message)]
