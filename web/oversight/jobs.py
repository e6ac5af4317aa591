"""Background query-log imports: a thread of the web process, with its own database session, per queued job.

Under ``make run`` (gunicorn) and ``flask run`` alike the thread runs in the process that took the upload, and
under the tests in the test process (``wait`` joins it, so no test sleeps). The job row is the state: the page
and the API read it from the database, from any process. The stored upload is removed when the job ends.
"""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask

from workflows.oversight.imports import ImportView, run_import_job

from .. import clock
from ..extensions import db

_RUNNING: dict[int, threading.Thread] = {}
_LOCK = threading.Lock()


def upload_dir(app: Flask) -> Path:
    """Where uploads wait in the instance folder (the page's between preview and import, the jobs' while they run)."""
    folder = Path(app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def job_upload(app: Flask, import_id: int) -> Path:
    """The upload a job reads, named by its job, so the sweep of dead jobs finds it."""
    return upload_dir(app) / f"import-{import_id}.upload"


def hand_over(app: Flask, import_id: int, kept: Path) -> Path:
    """The upload kept at ``kept`` renamed to its job's own name: a new upload leaves it alone."""
    return kept.rename(job_upload(app, import_id))


def start(app: Flask, import_id: int, path: Path) -> None:
    """Run the queued import ``import_id`` on the file at ``path`` in a thread of its own."""
    def run() -> None:
        with app.app_context():
            try:
                with open(path, "rb") as stream:
                    run_import_job(db.session, import_id=import_id, stream=stream, now=clock.now(), clock=clock.now)
            except Exception:
                app.logger.exception("query-log import %s failed", import_id)
            finally:
                db.session.remove()
                path.unlink(missing_ok=True)
                with _LOCK:
                    _RUNNING.pop(import_id, None)

    thread = threading.Thread(target=run, name=f"query-log-import-{import_id}", daemon=True)
    with _LOCK:
        _RUNNING[import_id] = thread
    thread.start()


def wait(import_id: int, timeout: float | None = None) -> None:
    """Until the job's thread has ended (at once when none runs here)."""
    with _LOCK:
        thread = _RUNNING.get(import_id)
    if thread is not None:
        thread.join(timeout)


def job_json(job: ImportView) -> dict:
    """An import for the API and the page's polling."""
    return {"id": job.id, "agency": job.agency, "file": job.file_name, "state": job.state, "rows": job.rows,
            "new": job.new, "duplicates": job.duplicates, "error_count": job.error_count, "errors": job.errors,
            "message": job.message, "progress": {"done": job.progress_done, "total": job.progress_total,
                                                 "percent": job.percent},
            "created_at": job.created_at.isoformat(),
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}
