from __future__ import annotations

import pytest

from workflows.runtime import sync as runtime_sync


@pytest.fixture
def restores(monkeypatch):
    """The applications whose engine was restored (the sweep restores through runtime.sync)."""
    seen: list[int] = []
    restore = runtime_sync.restore

    def counted(app):
        seen.append(app.id)
        return restore(app)

    monkeypatch.setattr(runtime_sync, "restore", counted)
    return seen
