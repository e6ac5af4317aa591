"""The printed sheet as a PDF: the sheet template rendered in Chinese, laid out by WeasyPrint with a CJK font."""

from __future__ import annotations

from flask import Response, render_template
from flask_babel import force_locale

from workflows.filing.sheets import Sheet

from ..i18n import DEFAULT_LOCALE

PDF = "application/pdf"


def render_pdf(sheets: list[Sheet]) -> bytes:
    """One PDF holding each sheet from a new page; always in Chinese with ROC dates, as the official forms are."""
    from weasyprint import HTML, URLFetcher  # imported on first use: pango is loaded only when someone prints

    with force_locale(DEFAULT_LOCALE):
        title = sheets[0].form.title if len(sheets) == 1 else f"{len(sheets)} 件申請"
        html = render_template("applications/sheet.html", sheets=sheets, title=title,
                               printed_at=sheets[0].printed_at)
    # The sheet is self-contained: nothing it holds (a person's text included) may make the server fetch a URL.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def pdf_response(sheets: list[Sheet], filename: str) -> Response:
    response = Response(render_pdf(sheets), mimetype=PDF)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # personal data: never kept by a shared cache
    return response
