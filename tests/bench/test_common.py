"""bench/common.py: the commit each benchmark prints, in a plain checkout and in a git worktree alike."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_common():
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,  # noqa: S603, S607 - git, fixed
                          text=True).stdout.strip()


def test_commit_read_inside_a_worktree(tmp_path, monkeypatch):
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "a.txt").write_text("a")
    git("add", "a.txt", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one", cwd=repo)
    git("worktree", "add", "-q", "-b", "side", str(tree), cwd=repo)
    (tree / "b.txt").write_text("b")
    git("add", "b.txt", cwd=tree)
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "two", cwd=tree)
    # Git writes a worktree's .git file with the absolute path; a relative one (moved checkouts, --relative-paths)
    # is read relative to the file, not to the process's directory.
    (tree / ".git").write_text("gitdir: ../repo/.git/worktrees/tree\n")
    assert git("rev-parse", "HEAD", cwd=tree)
    common = load_common()
    monkeypatch.setattr(common, "ROOT", tree)
    assert common.git_commit() == git("rev-parse", "HEAD", cwd=tree)[:7] != git("rev-parse", "HEAD", cwd=repo)[:7]


def test_no_repository_no_commit(tmp_path, monkeypatch):
    common = load_common()
    monkeypatch.setattr(common, "ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert common.git_commit() == ""


