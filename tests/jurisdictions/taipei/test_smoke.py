def test_the_taipei_demo_logs_in(api):
    assert api.as_("applicant").get("/api/v1/forms").status_code == 200
