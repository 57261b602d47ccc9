"""The import layers of docs/DESIGN.md hold, and the checker really catches a forbidden import."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "pricing", "store", "adapters", "schedules", "synthetic", "checks", "clustering", "reconciliation",
            "pdf", "forecast", "exports", "workers")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter with `tree` first on the path, so it analyses that copy of the packages."""
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", script, "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, capture_output=True, text=True, env={"PYTHONPATH": str(tree)}, timeout=120)


def copy_of_the_project(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.json"))
    return tree


def test_the_project_keeps_its_layers(tmp_path: Path) -> None:
    result = lint_imports(copy_of_the_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_a_domain_package_importing_workers_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_of_the_project(tmp_path)
    with (tree / "clustering" / "__init__.py").open("a") as module:
        module.write("\nimport workers.jobs  # a forbidden upward import\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "Layers: workers on top, the domain packages pure, core at the bottom BROKEN" in result.stdout
    assert "clustering is not allowed to import workers" in result.stdout


def test_store_importing_celery_breaks_the_celery_contract(tmp_path: Path) -> None:
    tree = copy_of_the_project(tmp_path)
    with (tree / "store" / "__init__.py").open("a") as module:
        module.write("\nimport celery  # only workers/ may\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "Only workers/ imports Celery BROKEN" in result.stdout


PURE = "The domain packages import no database, HTTP or Celery library"


PURE_PACKAGES = ("checks", "clustering", "reconciliation", "pdf", "pricing", "forecast", "exports")
IMPURE_LIBRARIES = ("psycopg", "httpx", "celery")


def test_each_database_http_or_celery_import_in_a_domain_package_breaks_the_purity_contract(tmp_path: Path) -> None:
    """One copy of the project with every forbidden library planted in every domain package: the contract
    names each of them (one lint run, as each run analyses the whole project)."""
    tree = copy_of_the_project(tmp_path)
    for package in PURE_PACKAGES:
        with (tree / package / "__init__.py").open("a") as module:
            module.write("".join(f"\nimport {library}  # planted: the domain packages are pure\n"
                                 for library in IMPURE_LIBRARIES))
    result = lint_imports(tree)
    assert result.returncode != 0
    assert f"{PURE} BROKEN" in result.stdout
    missing = [f"{package} -> {library}" for package in PURE_PACKAGES for library in IMPURE_LIBRARIES
               if f"{package} is not allowed to import {library}" not in result.stdout]
    assert missing == [], result.stdout


# the connection plumbing may run a statement of its own (a session setting, a test database); nothing else
SQL_PLUMBING = {"workers/runtime/db.py", "workers/runtime/embedded.py"}
# a Redis pipeline's `pipe.execute()` (workers/runtime/metrics.py, the queue lengths) runs no SQL
QUERY = re.compile(r"(?<!\bpipe)\.(execute|executemany|copy)\(|\bsql\.SQL\(")


def test_workers_run_no_query_of_their_own() -> None:
    """All SQL lives in store/: a job reads and writes through it, so no query escapes its review."""
    offenders = []
    for path in sorted((ROOT / "workers").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name in SQL_PLUMBING:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if QUERY.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []
