"""The documentation points only inside the repository, at files and headings that exist, and names
every setting the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "deploy" / "runbook.md"])
# [text](target) outside code spans and fenced blocks; the target up to the first space or ")"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
SETTING = re.compile(r"\bHALTON_[A-Z0-9_]*[A-Z0-9]\b")
CODE_DIRS = ("core", "pricing", "store", "adapters", "schedules", "synthetic", "checks", "clustering",
             "reconciliation", "pdf", "forecast", "workers")


def prose(path: Path) -> str:
    return CODE_SPAN.sub("", FENCE.sub("", path.read_text()))


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", FENCE.sub("", path.read_text()), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path))


def test_the_documents_checked_exist() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in DOCS}
    assert {"README.md", "docs/DESIGN.md", "docs/BENCHMARKS.md", "docs/CONFIGURATION.md",
            "deploy/runbook.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_inside_the_repository(doc: Path) -> None:
    broken = []
    for target in links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: are not repository paths
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{doc.name}: {broken}"


def test_the_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# Top\n\n[ok](#top) [gone](nowhere.md) `[code](not-a-link.md)`\n")
    assert links(doc) == ["#top", "nowhere.md"]
    assert "top" in anchors(doc) and "gone" not in anchors(doc)


def test_nothing_in_the_docs_points_outside_the_repository() -> None:
    outside = [f"{doc.relative_to(ROOT)}: {hit}" for doc in DOCS
               for hit in re.findall(r"(?:\.\./)+shared/|/work/|\bshared/DESIGN\.md", doc.read_text())]
    assert not outside, outside


def test_every_setting_the_code_reads_is_documented() -> None:
    read = set()
    for package in CODE_DIRS:
        for source in (ROOT / package).rglob("*.py"):
            read |= set(SETTING.findall(source.read_text()))
    documents = (ROOT / "README.md", ROOT / "docs" / "CONFIGURATION.md")
    documented = set(SETTING.findall("\n".join(path.read_text() for path in documents)))
    # prefixes of pydantic-settings groups (HALTON_LIMIT_, HALTON_BILLING_) end in "_" and never match SETTING
    assert read, "no settings found: the scan is broken"
    assert not read - documented, f"settings without a line in README.md or docs/CONFIGURATION.md: {read - documented}"
