"""The data encryption key: from the config or the instance folder; production refuses to start without one."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from models import sealing

# Known to everyone, so only for tests and the debug server; anything else must bring its own key.
DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQtb25seS1kYXRhLWtleS0zMmJ5dGU="

MISSING = ("DATA_ENCRYPTION_KEY is not set. ID numbers are encrypted at rest and the app will not start without "
           "the key: set DATA_ENCRYPTION_KEY (32 random bytes, URL-safe base64; make one with "
           "python -c 'from models.sealing import new_key; print(new_key())') or put it in {path} "
           "(`make run` does this once). Keep the key apart from the database backups: without it the ID "
           "numbers cannot be read back.")


def key_file(app: Flask) -> Path:
    return Path(app.config.get("DATA_ENCRYPTION_KEY_FILE") or Path(app.instance_path) / "data-key")


def init_app(app: Flask) -> None:
    """Hand the keys to the models once; refuse to start outside tests and debug without a real key."""
    key = app.config.get("DATA_ENCRYPTION_KEY")
    path = key_file(app)
    if not key and path.is_file():
        key = app.config["DATA_ENCRYPTION_KEY"] = path.read_text().strip()
    relaxed = app.testing or app.debug
    if not key and not relaxed:
        raise RuntimeError(MISSING.format(path=path))
    if key == DEVELOPMENT_KEY and not relaxed:
        raise RuntimeError("DATA_ENCRYPTION_KEY is the published development key; " + MISSING.format(path=path))
    sealing.configure(key or DEVELOPMENT_KEY, app.config.get("DATA_HASH_KEY"))
