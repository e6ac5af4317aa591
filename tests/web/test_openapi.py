"""The OpenAPI document validates, and a property-based run over it finds no server error.

The run is widened beyond what the schema alone suggests: every string parameter and every named string in a
body draws, half of the time, from a dictionary of hostile values (NUL and control characters, right-to-left
marks, 10,000 characters, markup, SQL, dates past the calendar's ends, huge numbers and durations). Lone
surrogates cannot pass through schemathesis's own validator, so each JSON operation is also called with them
explicitly, in every string of its body and in a form's data.
"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from tests.conftest import QUERIER_ADD

HOSTILE = ["a\x00b", "\x1b[2J", "\u202e\u200fRTL", "x" * 10_000, "<script>alert(1)</script>", "' OR 1=1 --",
           "'; DROP TABLE person; --", "9999-12-31", "0001-01-01", "P99999999999W", "PT" + "9" * 400 + "H", "1e400",
           "9" * 400, "-1", "NaN", "../../etc/passwd", "%00", "\r\nSet-Cookie: x=1", "😀" * 50, ""]
BODY_STRINGS = ("username", "password", "form", "decision", "opinion", "reason", "note", "to")
SURROGATES = ["\ud800", "x\udfffy", "\udbff\ud7ff"]
HOSTILE_CONFIG = {
    "dictionaries": {"hostile": {"values": HOSTILE}},
    "generation": {"dictionaries": {"string": {"dictionary": "hostile", "probability": 0.5}}},
    "parameters": {f"body.{name}": {"dictionary": "hostile", "probability": 0.5} for name in BODY_STRINGS},
}


def test_the_document_is_valid_openapi_3_1(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    documented = {path for path in document["paths"]}
    assert {"/applications", "/tasks/{task_id}/complete", "/tasks/{task_id}/reassign", "/audit-events",
            "/process-definitions/{key}/versions", "/schedules", "/dashboard/steps"} <= documented


def test_every_api_route_is_documented(app, client):
    documented = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    served = {rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert served - {"/openapi.json", "/docs"} == documented


def test_the_readable_page_loads_swagger_ui_from_our_own_static_files(client):
    page = client.get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1]


def hostile_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                          config=SchemathesisConfig.from_dict(HOSTILE_CONFIG))


def file_two_applications(api) -> None:
    """Real rows, so small generated ids reach the handlers."""
    for username in ("sw_staff", "labor_clerk"):
        filed = api.as_(username).post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
        assert filed.status_code == 201


def test_no_route_answers_with_a_server_error(app, api):
    """Hypothesis generates requests for every documented operation from the schema (schemathesis)."""
    schema = hostile_schema(app)
    file_two_applications(api)
    # As an administrator, so the calls reach past authorisation into the handlers.
    token = api.as_("admin").headers["Authorization"]
    # Log-out revokes the token it is called with: last, so every other call is made as a signed-in administrator.
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.path == "/logout")
    assert len(operations) >= 20
    hostile_sent = 0

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def call(case):
            nonlocal hostile_sent
            sent = repr((case.body, case.query, case.path_parameters))
            hostile_sent += any(value and value in sent for value in HOSTILE)
            case.call_and_validate(headers={"Authorization": token}, checks=[not_a_server_error])

        call()
    assert hostile_sent >= 50  # the dictionary really reached the handlers


def with_surrogates(body, surrogate: str):
    """Every string in a generated body, and a form's data, replaced by one holding a lone surrogate."""
    if isinstance(body, dict):
        out = {k: with_surrogates(v, surrogate) for k, v in body.items()}
        if "data" in out:
            out["data"] = {"reason": surrogate, "query_date": surrogate, "items": [surrogate], surrogate: "x"}
        return out
    if isinstance(body, list):
        return [with_surrogates(v, surrogate) for v in body]
    return f"{body}{surrogate}" if isinstance(body, str) else body


def test_lone_surrogates_in_any_json_body_are_a_4xx(app, api):
    """Sent with the test client itself: schemathesis re-validates a body as UTF-8 and cannot hold them."""
    schema = hostile_schema(app)
    file_two_applications(api)
    admin = api.as_("admin")
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if op.method.upper() == "POST" and "application/json" in str(op.definition.raw.get("requestBody"))]
    assert len(operations) >= 6
    statuses = []

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def call(case):
            if not isinstance(case.body, dict):
                return
            for surrogate in SURROGATES:
                response = admin.client.post(f"/api/v1{case.formatted_path}", query_string=case.query,
                                             json=with_surrogates(case.body, surrogate), headers=admin.headers)
                statuses.append((case.formatted_path, response.status_code))
                assert 400 <= response.status_code < 500, statuses[-1]

        call()
    assert len(statuses) >= 6 * len(SURROGATES)
