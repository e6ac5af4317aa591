"""What a browser may do with our responses: run only our own static scripts, never frame us, never sniff types;
diagram XML is a file to save, never a page to render.

A small after_request hook rather than Flask-Talisman: Talisman also forces HTTPS redirects, HSTS and secure
cookies by default (wrong for ``make run`` on http://127.0.0.1 and for a TLS-terminating proxy that already does
it), and we need only these headers, with downloads keeping a stricter policy of their own.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # Only our own files: no inline <script>, no on...= attributes, no eval. Pages hand data to the static
    # scripts in data-* attributes or <script type="application/json"> blocks.
    "script-src 'self'",
    # Styles keep 'unsafe-inline': bpmn-js and diagram-js build their containers and overlays from markup with
    # style attributes, the properties panel and Swagger UI set inline styles, and the dashboard's bars carry
    # their width (chromium blocks all of these under style-src 'self'). A style cannot run code; scripts stay
    # strict.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",  # bpmn-js and Swagger UI draw icons from data: URLs
    "font-src 'self' data:",  # bpmn-font is embedded in its stylesheet
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # ids in our URLs never leave the site
}
# A download also gets a policy of its own: should a browser render it after all, nothing in it may run.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Every response, pages, JSON, files and errors alike; a header a view set itself is kept."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def diagram_download(xml: bytes, filename: str) -> Response:
    """Diagram XML as an attachment of a type no browser executes (an XHTML <script> in it stays text)."""
    response = Response(xml, mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response
