"""The OpenAPI document validates, and a property-based run over it finds no server error."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error

from tests.conftest import QUERIER_ADD


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


def test_no_route_answers_with_a_server_error(app, api):
    """Hypothesis generates requests for every documented operation from the schema (schemathesis)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for username in ("sw_staff", "labor_clerk"):  # real rows, so small generated ids reach the handlers
        filed = api.as_(username).post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
        assert filed.status_code == 201
    # As an administrator, so the calls reach past authorisation into the handlers.
    token = api.as_("admin").headers["Authorization"]
    # Log-out revokes the token it is called with: last, so every other call is made as a signed-in administrator.
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=lambda op: op.path == "/logout")
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case):
            case.call_and_validate(headers={"Authorization": token}, checks=[not_a_server_error])

        call()
