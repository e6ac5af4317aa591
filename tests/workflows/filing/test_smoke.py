from tests.conftest import NOW, QUERIER_ADD
from workflows.filing.applications import submit_application


def test_submit_opens_the_unit_heads_step(session, person):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    assert [t.step for t in app.tasks] == ["unit_head_review"]
    assert [c.person_id for c in app.tasks[0].candidates] == [person("sw_unit_head").id]
