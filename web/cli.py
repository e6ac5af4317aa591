"""flask commands: load the demo city, deploy the diagrams, verify the audit trail."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from workflows import jurisdiction
from workflows.audit import verify_chain
from workflows.demo import DEMO_PASSWORD, PEOPLE, load_demo
from workflows.editor.deploy import deploy_directory

from . import clock
from .config import pack_problems
from .extensions import db


def register_cli(app: Flask) -> None:
    register_scheduler_cli(app)
    register_audit_cli(app)
    register_pack_cli(app)

    @app.cli.command("seed-demo")
    def seed_demo():
        """Create the jurisdiction pack's demo organisation and deploy its diagrams (idempotent)."""
        created = load_demo(db.session, now=clock.now(), bpmn_dir=current_app.config["BPMN_DIR"])
        db.session.commit()
        click.echo("demo data loaded" if created else "demo data already present; diagrams checked")

    @app.cli.command("deploy-diagrams")
    def deploy_diagrams():
        """Deploy every diagram in the jurisdiction's folder as a new version if it changed."""
        versions = deploy_directory(db.session, current_app.config["BPMN_DIR"], now=clock.now(),
                                    jurisdiction=current_app.config["JURISDICTION"])
        for v in versions:
            click.echo(f"{v.definition.key}: version {v.version}")

    @app.cli.command("demo-logins")
    def demo_logins():
        """Print the demo accounts of the jurisdiction pack (all with the same password)."""
        click.echo(f"  {jurisdiction.active().name}（JURISDICTION={jurisdiction.active().key}）")
        for username, name, title, _agency, unit, roles in PEOPLE:
            click.echo(f"  {username:<14} {name} {title}（{unit}）{' '.join(r.value for r in roles)}")
        click.echo(f"  password for every account: {DEMO_PASSWORD}")


def register_pack_cli(app: Flask) -> None:
    pack = AppGroup("pack", help="Jurisdiction packs (bpmn/<key>/pack.yaml, docs/jurisdictions.md).")
    app.cli.add_command(pack)

    @pack.command("check")
    @click.option("--key", default=None, help="The pack to check (default: the JURISDICTION the app serves).")
    def check(key: str | None):
        """List every problem of a pack (exit status 1 when there is any)."""
        key = key or current_app.config["JURISDICTION"]
        problems = pack_problems(key, current_app.config["PACKS_DIR"])
        for problem in problems:
            click.echo(f"{key}: {problem}", err=True)
        if problems:
            raise SystemExit(1)
        click.echo(f"{key}: no problems")


PROBLEMS = {
    "altered": "此筆內容與雜湊不符（遭修改）",
    "missing": "此筆已不存在（遭刪除）",
    "head": "鏈尾與最後一筆不符（尾端紀錄遭刪除或鏈尾遭改寫）",
}


def register_audit_cli(app: Flask) -> None:
    @app.cli.command("verify-audit")
    def verify_audit():
        """Recompute the audit trail's hash chain; name the first event that does not verify (exit status 1)."""
        check = verify_chain(db.session, actor=None)
        if check.intact:
            click.echo(f"審計軌跡完整：共 {check.verified} 筆；鏈尾雜湊 {check.head_hash}")
            return
        event = f"（事件 #{check.event_id} {check.event_type}）" if check.event_id else ""
        click.echo(f"第 {check.broken_at} 筆起遭竄改：{PROBLEMS[check.problem]}{event}；"
                   f"此前 {check.verified} 筆完整", err=True)
        raise SystemExit(1)


def register_scheduler_cli(app: Flask) -> None:
    @app.cli.command("scheduler")
    @click.option("--parent-pid", type=int, default=None,
                  help="Exit when this process, the one that started this scheduler, ends (web/gunicorn_conf.py).")
    def run_scheduler(parent_pid: int | None):
        """Run the timer sweep, the e-mail outbox and the recurring duties in this process (production)."""
        import signal
        import sys

        from apscheduler.schedulers.blocking import BlockingScheduler

        from .lifetime import exit_with_parent
        from .scheduler import TAIPEI, build

        log_to_stderr(current_app)
        # SIGTERM ends the loop: the job in hand finishes (its thread is joined at exit), no other starts.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if parent_pid is not None:
            exit_with_parent(parent_pid)
        click.echo("scheduler running; Ctrl-C to stop")
        build(current_app._get_current_object(), BlockingScheduler(timezone=TAIPEI)).start()

    @app.cli.command("sweep-timers")
    def sweep_once():
        """Fire every due timer once and exit (cron-friendly)."""
        from .scheduler import send_emails, sweep_timers

        log_to_stderr(current_app)
        click.echo(str(sweep_timers(current_app._get_current_object())))
        click.echo(f"e-mails sent: {send_emails(current_app._get_current_object())}")


def log_to_stderr(app: Flask) -> None:
    """A scheduler process's log (what ran, and every failure with its traceback) at LOG_LEVEL on stderr.

    Only our own packages log at LOG_LEVEL: at INFO, APScheduler reports every tick and SpiffWorkflow
    every task state change, so theirs stay at warnings.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for package in ("web", "workflows", "models"):
        logging.getLogger(package).setLevel(app.config["LOG_LEVEL"])
