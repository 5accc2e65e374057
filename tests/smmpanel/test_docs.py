"""The docs a fresh clone gets are complete: the spec is in docs/spec/ and every link resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_spec_files_are_in_the_repository():
    assert (ROOT / "docs/spec/RULES.md").read_text().count("R-ORD-") > 5
    assert "action" in (ROOT / "docs/spec/API_V2.md").read_text()


def test_docs_never_point_outside_the_clone():
    for doc in DOCS:
        assert "../shared" not in doc.read_text(), doc.name


def test_every_relative_link_in_the_docs_resolves():
    for doc in DOCS:
        for target in LINK.findall(doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
