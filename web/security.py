"""What a browser may do with our responses: diagram XML is a file to save, never a page to render."""

from __future__ import annotations

from flask import Response

# A download also gets a policy of its own: should a browser render it after all, nothing in it may run.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def diagram_download(xml: bytes, filename: str) -> Response:
    """Diagram XML as an attachment of a type no browser executes (an XHTML <script> in it stays text)."""
    response = Response(xml, mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response
