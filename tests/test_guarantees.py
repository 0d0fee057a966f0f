"""The README's guarantees each name the tests that prove them; those tests must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def guarantees() -> list[tuple[str, list[str]]]:
    section = (ROOT / "README.md").read_text().split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "::" in line]
    return [(row.split("|")[1].strip(), re.findall(r"`(tests/[\w/]+\.py::\w+)`", row)) for row in rows]


def test_every_guarantee_names_tests_that_exist() -> None:
    found = guarantees()
    assert len(found) >= 10
    for promise, tests in found:
        assert tests, f"no test proves: {promise}"
        for reference in tests:
            path, name = reference.split("::")
            source = (ROOT / path).read_text()
            assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{reference} does not exist"
