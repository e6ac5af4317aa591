from sqlalchemy import select, text
from models import Application
from tests.workflows.test_tracking import *  # noqa

def test_dbg(world, session):
    for row in session.execute(text("select id, state, waiting_since, created_at from application order by id")):
        print(row)
    for row in session.execute(text("select id, application_id, step, state, created_at from human_task order by id")):
        print(row)
