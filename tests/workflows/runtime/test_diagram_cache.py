"""Parsed diagrams and their serializers are cached per version, bounded: many versions do not grow a process."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from workflows.engine import Run, runtime
from workflows.runtime import diagrams

QUERIER = (Path(__file__).parents[3] / "bpmn" / "kaohsiung" / "querier_account.bpmn").read_bytes()
TIMERS = {"reminder_days": 3, "escalation_days": 5}


@pytest.fixture(autouse=True)
def fresh_db():
    """No database: versions are stand-ins with the columns the cache reads."""
    yield


def version(n: int):
    return SimpleNamespace(definition_id=9000, sha256=f"{n:064x}", bpmn_xml=QUERIER,
                           definition=SimpleNamespace(key="querier_account"))


def test_the_least_recently_used_diagram_goes_first(monkeypatch):
    monkeypatch.setattr(diagrams, "CACHE_SIZE", 3)
    monkeypatch.setattr(diagrams, "_cache", type(diagrams._cache)())
    first, second = diagrams.load_diagram(version(1)), diagrams.load_diagram(version(2))
    assert diagrams.load_diagram(version(1)) is first  # a hit, and now the most recently used
    diagrams.load_diagram(version(3))
    diagrams.load_diagram(version(4))  # one too many: version 2 was used longest ago

    assert len(diagrams._cache) == 3
    assert diagrams.load_diagram(version(1)) is first
    assert diagrams.load_diagram(version(2)) is not second  # parsed again


def test_serializers_are_bounded_per_thread_and_follow_a_reparsed_diagram(monkeypatch):
    monkeypatch.setattr(runtime, "SERIALIZER_CACHE_SIZE", 2)
    monkeypatch.setattr(diagrams, "_cache", type(diagrams._cache)())
    runtime._local.__dict__.pop("serializers", None)
    parsed = [diagrams.load_diagram(version(n)) for n in range(5)]
    for n, diagram in enumerate(parsed):
        diagram.sha256 = f"version {n}"  # the same XML five times: tell the versions apart
        Run.restore(diagram, Run.start(diagram, TIMERS).save())
    assert len(runtime._local.serializers) == 2

    again = runtime._serializer(parsed[-1])
    assert again.diagram is parsed[-1]
    reparsed = diagrams.parse_diagram(QUERIER, "querier_account")
    reparsed.sha256 = parsed[-1].sha256
    assert runtime._serializer(reparsed).diagram is reparsed  # not the old object kept alive by its serializer
