"""web/gunicorn_conf.py in a real gunicorn: each worker freezes what it holds once it has loaded the app.

The served app here is ``probe`` below, loaded by the worker as gunicorn loads ``web:create_app()``; it answers
with the number of objects the collector has frozen in the worker serving it (0 without the hook).
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.process,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")]


def probe(environ, start_response):
    body = f"{gc.get_freeze_count()} {os.getpid()}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def test_each_worker_freezes_the_objects_it_holds_after_loading_the_app():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("WEBIR_SCHEDULER_ENABLED", None)
    env.pop("SCHEDULER_ENABLED", None)
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen([gunicorn, "-c", "web/gunicorn_conf.py", "--workers", "2",  # noqa: S603
                               "--bind", f"127.0.0.1:{port}", "tests.web.test_gunicorn_conf:probe"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        answers = {}
        deadline = time.monotonic() + 60
        while len(answers) < 2 and time.monotonic() < deadline:  # until both workers have answered
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    frozen, pid = response.read().decode().split()
                    answers[pid] = int(frozen)
            except OSError:
                time.sleep(0.05)
        assert answers, "gunicorn with web/gunicorn_conf.py did not answer"
        assert all(frozen > 1000 for frozen in answers.values()), answers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        (ROOT / "instance" / f"gunicorn-127.0.0.1-{port}.pid").unlink(missing_ok=True)
