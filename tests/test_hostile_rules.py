"""Hostile rule files: each is refused cleanly, at its place, and never half-loaded.

The corpus is ``tests/hostile/``, one real file per kind; its first line says which rule file it stands
in for. The big kinds (2 MiB, a 1 MiB alias bomb, 100,000 wrong items) are generated here rather than
committed. For every hostile kind, ``profiler-rules check`` exits 1 without a traceback and reports
``file:line:col`` wherever there is a place, ``Dispatcher.from_rules`` raises :class:`RulesError`, and
a dispatcher serving good rules keeps serving them, whole, when a reload meets the hostile file.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from profiler_rules import Dispatcher, RulesError
from profiler_rules.core.errors import Problem
from profiler_rules.core.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_PROBLEMS

from .conftest import PACKAGED_RULES, result, run_cli

CORPUS = Path(__file__).parent / "hostile"


@dataclass(frozen=True)
class Expect:
    """One problem: part of its message and its place.

    The line is the corpus line containing ``needle``, or ``line``; neither means "some line".
    ``placed=False`` means the problem has no place (a missing file), and the output shows none.
    """

    text: str
    needle: str | None = None
    column: int | None = None
    line: int | None = None
    placed: bool = True


@dataclass(frozen=True)
class Hostile:
    """A hostile kind: the corpus file (or a generator) and the rule file it replaces.

    ``exact``: the problems are exactly ``expected``, in order; otherwise each expected one is among them.
    """

    name: str
    target: str
    expected: tuple[Expect, ...]
    exact: bool = True
    make: Callable[[], bytes | None] | None = None  # None: the corpus file; returning None: delete the target

    def content(self) -> bytes | None:
        return self.make() if self.make else (CORPUS / f"{self.name}.yaml").read_bytes()

    def install(self, rules: Path) -> None:
        content = self.content()
        if content is None:
            (rules / self.target).unlink()
        else:
            (rules / self.target).write_bytes(content)

    def line_of(self, needle: str) -> int:
        # latin-1 reads any bytes, so needles work in the files that are not UTF-8 too.
        lines = (CORPUS / f"{self.name}.yaml").read_bytes().decode("latin-1").split("\n")
        found = [number for number, line in enumerate(lines, 1) if needle in line]
        assert len(found) == 1, f"{needle!r} is on lines {found} of {self.name}.yaml"
        return found[0]

    def position(self, expect: Expect) -> tuple[int | None, int | None] | None:
        """Where ``expect`` must be: ``(line, column)``, ``(None, None)`` for no place, or ``None`` for anywhere."""
        if not expect.placed:
            return (None, None)
        if expect.needle is not None:
            return (self.line_of(expect.needle), expect.column)
        if expect.line is not None:
            return (expect.line, expect.column)
        return None


def _missions_body() -> str:
    text = (PACKAGED_RULES / "missions.yaml").read_text()
    return text[text.index("\n\n") + 1 :]


def _two_mebibytes() -> bytes:
    """Valid missions rules padded with comments to 2 MiB: refused for its size, unread."""
    body = _missions_body().encode()
    line = b"# " + b"x" * 1021 + b"\n"
    return body + line * ((2 * MAX_FILE_BYTES - len(body)) // len(line) + 1)


def _wide_alias_bomb() -> bytes:
    """An anchor and a quarter of a million aliases of it, just under 1 MiB: a problem each, if let."""
    return ("a: &a [lol, lol, lol, lol]\nb: [" + ", ".join(["*a"] * 250_000) + "]\n").encode()


def _many_wrong_items() -> bytes:
    """100,000 skill codes that are numbers: one schema error each."""
    text = (PACKAGED_RULES / "recipes.yaml").read_text()
    return text.replace("    - TECH\n", "    - TECH\n" + "    - 1\n" * 100_000).encode()


MISSIONS_KEYS = "(allowed: default_max_difficulty, difficulty_labels, levels)"

HOSTILE = [
    Hostile(
        "alias_bomb",
        "missions.yaml",
        (
            Expect("anchors (&a) are not allowed", "a: &a", 4),
            Expect("aliases (*a) are not allowed", "b: &b", 8),
            Expect("aliases (*h) are not allowed", "i: &i", 8),
            Expect(f"unknown key 'i' {MISSIONS_KEYS}", "i: &i", 1),
        ),
        exact=False,
    ),
    Hostile(
        "wide_alias_bomb",
        "missions.yaml",
        (
            Expect("anchors (&a) are not allowed", line=1, column=4),
            Expect("aliases (*a) are not allowed", line=2, column=5),
            Expect(f"stopped reading after {MAX_PROBLEMS} problems; fix these and check again", line=2),
        ),
        exact=False,
        make=_wide_alias_bomb,
    ),
    # 64 levels are allowed: the root mapping and 63 lists; the 64th list is refused where it opens.
    Hostile(
        "nesting_flow",
        "missions.yaml",
        (Expect(f"nesting deeper than {MAX_DEPTH} levels is not allowed", "levels: [[[", len("levels: ") + MAX_DEPTH),),
    ),
    Hostile(
        "nesting_block",
        "missions.yaml",
        (Expect(f"nesting deeper than {MAX_DEPTH} levels is not allowed", "  - - - ", 3 + 2 * (MAX_DEPTH - 1)),),
    ),
    Hostile(
        "duplicate_keys",
        "missions.yaml",
        (
            Expect("duplicate key 'novice' (first defined on line 6); remove one of them", "  novice: 2", 3),
            Expect("duplicate key 'default_max_difficulty' (first defined on line 15)", "default_max_difficulty: 5", 1),
        ),
    ),
    Hostile(
        "tabs",
        "missions.yaml",
        (Expect("tabs are not allowed in YAML indentation; use spaces", "\tintermediate", 1),),
    ),
    Hostile("not_utf8", "missions.yaml", (Expect("the file is not UTF-8 text (byte 0xee)", "  5: Ma\xeetre", 8),)),
    Hostile(
        "empty", "missions.yaml", (Expect("the file is empty; it must be a mapping of settings", line=1, column=1),)
    ),
    Hostile("only_comments", "missions.yaml", (Expect("the file is empty", line=1, column=1),)),
    Hostile(
        "too_big",
        "missions.yaml",
        (Expect("the file is larger than 1 MiB; rule files are small", placed=False),),
        make=_two_mebibytes,
    ),
    # Random bytes, a NUL every 64: the first of them that is not UTF-8 is the fourth.
    Hostile("binary", "missions.yaml", (Expect("the file is not UTF-8 text (byte 0xd8)", line=1, column=4),)),
    Hostile(
        "nul_character",
        "missions.yaml",
        (Expect("the control character U+0000 is not allowed in YAML; is this a binary file?", "5: Master", 12),),
    ),
    # An engine's missing file is served by its packaged default (a warning); the access rules are the
    # core's, deny by default, and a rules directory must hold them.
    Hostile(
        "missing_file",
        "access.yaml",
        (Expect("missing rule file of the access rules", placed=False),),
        make=lambda: None,
    ),
    Hostile(
        "unknown_file",
        "recipe.yaml",
        (Expect("no engine reads this file", placed=False),),
        make=lambda: (CORPUS / "unknown_file.yaml").read_bytes(),
    ),
    Hostile(
        "unknown_keys",
        "recipes.yaml",
        (
            Expect("unknown key 'colour' (allowed: aptitude, behavioral, categories, priority_bands", "colour:", 1),
            Expect("missing setting 'gap_cutoff' under 'aptitude'; add it", "aptitude:", 1),
            Expect("unknown key 'gap_cutof' (allowed: gap_cutoff)", "gap_cutof:", 3),
            Expect("unknown key 'label' (allowed: below, priority)", "label:", 5),
            Expect("unknown key 'codes' (allowed: aliases, skill_codes)", "    codes:", 5),
        ),
    ),
    Hostile(
        "wrong_types",
        "recipes.yaml",
        (
            Expect("a list is not of type 'object' [aptitude]", "aptitude: [", 11),
            Expect("a mapping is not of type 'number' [technical_exposure.gap_cutoff]", "{value: 60}", 15),
            Expect("'TECH BASICS FUNDAMENTALS' is not of type 'array'", "skill_codes: TECH", 16),
            Expect("an empty value is not of type 'number' [priority_bands[1].below]", "below: null", 12),
            Expect("an empty value is not of type 'number' [behavioral.gap_cutoff]", "# to be decided", 14),
            Expect("42 is not of type 'string' [behavioral.keywords.communication[0]]", "- 42", 9),
            Expect("'SEC' is not of type 'object' [categories.security]", "security: SEC", 13),
            Expect("a mapping is not of type 'array' [categories.forensics.aliases]", "dfir: forensics", 7),
            Expect("10.5 is not of type 'integer' [recommendations.max_recipes]", "max_recipes: 10.5", 16),
            Expect("true is not of type 'number' [recommendations.priority_weights.high]", "high: true", 11),
        ),
    ),
    Hostile(
        "many_wrong_items",
        "recipes.yaml",
        (
            Expect("1 is not of type 'string' [technical_exposure.skill_codes[1]]"),
            Expect(f"stopped after {MAX_PROBLEMS} problems; fix these and check again"),
        ),
        exact=False,
        make=_many_wrong_items,
    ),
    Hostile("root_list", "missions.yaml", (Expect("a list is not of type 'object'", "- levels:", 1),)),
    Hostile(
        "python_tag",
        "missions.yaml",
        (
            Expect(
                "tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed; write the plain value",
                "default_max_difficulty: !!",
                25,
            ),
        ),
    ),
    Hostile(
        "anchors",
        "missions.yaml",
        (
            Expect("anchors (&first) are not allowed; write the value out [levels.novice]", "&first", 11),
            Expect("aliases (*first) are not allowed; write the value out [levels.beginner]", "*first", 13),
        ),
    ),
    Hostile(
        "multiple_documents",
        "missions.yaml",
        (Expect("a rule file holds one YAML document; remove the second '---'", "---", 1),),
    ),
    Hostile(
        "list_key",
        "missions.yaml",
        (Expect("a key must be a plain name, not a mapping or a list", "[novice, beginner]: 1", 3),),
    ),
    Hostile(
        "huge_numbers",
        "missions.yaml",
        (
            Expect("(5,000 characters) is not of type 'integer' [levels.elite]", "elite: 9999", 10),
            Expect("'1e999' is not of type 'integer' [default_max_difficulty]", "1e999", 25),
        ),
    ),
    Hostile(
        "regex_keyword",
        "recipes.yaml",
        (
            Expect(
                "'(a+)+$' is not a valid name under 'keywords': names there are letters, digits and spaces, "
                "starting with a letter",
                "(a+)+$:",
                5,
            ),
        ),
    ),
    Hostile(
        "indentation",
        "missions.yaml",
        (
            Expect(
                "invalid YAML: mapping values are not allowed in this context; check the indentation of line 7 "
                "(3 spaces; line 6 above has 2)",
                "   intermediate: 2",
                16,
            ),
        ),
    ),
    Hostile(
        "text_for_numbers",
        "missions.yaml",
        (
            Expect("'1' is not of type 'integer'; remove the quotes [levels.novice]", 'novice: "1"', 11),
            Expect("'2%' is not of type 'integer'; write the number without % [levels.intermediate]", "2%", 17),
            Expect("'one' is not of type 'integer' [default_max_difficulty]", "'one'", 25),
        ),
    ),
]


def by_name(cases: list[Hostile]) -> list[object]:
    return [pytest.param(case, id=case.name) for case in cases]


def raised(rules: Path) -> tuple[Problem, ...]:
    with pytest.raises(RulesError) as error:
        Dispatcher.from_rules(rules, entry_points=False)
    return error.value.problems


def matches(case: Hostile, expect: Expect, problem: Problem, rules: Path) -> bool:
    if expect.text not in problem.format() or Path(problem.file) != rules / case.target:
        return False
    where = case.position(expect)
    if where is None:
        return problem.line is not None
    line, column = where
    return problem.line == line and (column is None or problem.column == column)


@pytest.mark.parametrize("case", by_name(HOSTILE))
def test_loading_raises_every_problem_at_its_place(case: Hostile, rules_dir: Path) -> None:
    case.install(rules_dir)
    problems = raised(rules_dir)
    if case.exact:
        assert len(problems) == len(case.expected), [problem.format() for problem in problems]
        for expect, problem in zip(case.expected, problems, strict=True):
            assert matches(case, expect, problem, rules_dir), (expect, problem.format())
    else:
        for expect in case.expected:
            assert any(matches(case, expect, problem, rules_dir) for problem in problems), expect
    if all(expect.placed for expect in case.expected):
        assert all(problem.line is not None for problem in problems), "a problem lost its place"


@pytest.mark.parametrize("case", by_name(HOSTILE))
def test_check_reports_them_like_a_linter(case: Hostile, tmp_path: Path, rules_dir: Path) -> None:
    case.install(rules_dir)
    run = run_cli("check", "--rules", "rules", cwd=tmp_path)
    assert run.code == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for expect in case.expected:
        pattern = output_line(case, expect)
        assert any(pattern.match(line) for line in lines), (pattern.pattern, lines[:5])
    assert not (tmp_path / "hostile.txt").exists(), "a tag ran a command"


def output_line(case: Hostile, expect: Expect) -> re.Pattern[str]:
    """The line ``check`` prints for ``expect``: ``rules/recipes.yaml:12:5: error: ...``."""
    where = case.position(expect)
    if where is None:
        place = r":\d+:\d+"
    elif where == (None, None):
        place = ""
    else:
        line, column = where
        place = f":{line}:" + (str(column) if column else r"\d+")
    file = re.escape(f"rules/{case.target}")
    return re.compile(f"{file}{place}: error: .*{re.escape(expect.text)}")


@pytest.mark.parametrize("case", by_name(HOSTILE))
def test_reload_keeps_serving_the_good_rules(case: Hostile, rules_dir: Path) -> None:
    dispatcher = Dispatcher.from_rules(rules_dir, entry_points=False)
    good = dispatcher.ruleset
    case.install(rules_dir)
    outcome = dispatcher.reload()
    assert not outcome.ok
    assert outcome.digest == good.digest and outcome.problems
    assert dispatcher.ruleset is good, "the good rule set serves, whole"
    assert dispatcher.status().digest == good.digest
    assert dispatcher.status().last_error == outcome.problems
    report = dispatcher.dispatch(result(aptitude_breakdown={"networking": 55}, difficulty_selection="elite"))
    assert report.ruleset.digest == good.digest
    assert report.engines["missions"].output.max_difficulty == 4


@pytest.mark.parametrize("name", ["alias_bomb", "wide_alias_bomb"])
def test_alias_bombs_are_refused_fast_and_small(name: str, rules_dir: Path, dispatcher: Dispatcher) -> None:
    # ``dispatcher``: plugins are imported and schemas read before anything is measured.
    (case,) = [case for case in HOSTILE if case.name == name]
    case.install(rules_dir)
    size = (rules_dir / case.target).stat().st_size
    tracemalloc.start()
    try:
        started = time.perf_counter()
        problems = raised(rules_dir)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    # Loading the other rule files (about 1 MiB), this file's bytes and its text; nothing expanded, and
    # no problem kept per alias.
    assert peak < 3 * size + 2 * 1024 * 1024, f"peak {peak:,} bytes for a file of {size:,}"
    assert len(problems) <= 2 * MAX_PROBLEMS


# --- what looks hostile but is not ---------------------------------------------------------------


def test_a_byte_order_mark_is_accepted(tmp_path: Path, rules_dir: Path, dispatcher: Dispatcher) -> None:
    (rules_dir / "missions.yaml").write_bytes((CORPUS / "bom.yaml").read_bytes())
    loaded = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert (
        loaded.ruleset.rules_by_engine["missions"].settings == dispatcher.ruleset.rules_by_engine["missions"].settings
    )
    assert run_cli("check", "--rules", "rules", cwd=tmp_path).code == 0


def test_names_like_regular_expressions_match_only_as_written(tmp_path: Path, rules_dir: Path) -> None:
    (rules_dir / "recipes.yaml").write_bytes((CORPUS / "regex_names.yaml").read_bytes())
    assert run_cli("check", "--rules", "rules", cwd=tmp_path).code == 0
    settings = Dispatcher.from_rules(rules_dir, entry_points=False).ruleset.rules_by_engine["recipes"].settings
    assert settings.category(".*") == "networking"
    assert settings.category("(a+)+$") == settings.category("[a-z]+") == "(a+)+$"
    for name in ("anything", "a" * 50_000, "aaaa", "(a+)+", "."):
        assert settings.category(name) is None, name
    assert settings.category("security") == "security"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * 50_000 + "!", id="one-long-word"),
        pytest.param(("(a+)+$ .* " * 5_000)[:50_000], id="regex-like"),
        pytest.param(("communication " * 3_600)[:50_000], id="keyword-repeated"),
        pytest.param(("a " * 25_000)[:50_000], id="short-words"),
    ],
)
def test_keywords_match_a_long_growth_area_quickly_and_literally(text: str, rules_dir: Path) -> None:
    (rules_dir / "recipes.yaml").write_bytes((CORPUS / "regex_names.yaml").read_bytes())
    behavioral = (
        Dispatcher.from_rules(rules_dir, entry_points=False).ruleset.rules_by_engine["recipes"].settings.behavioral
    )
    started = time.perf_counter()
    found = behavioral.keywords_in(text)
    assert time.perf_counter() - started < 0.25
    assert found == ([("communication", ["COMM"])] if "communication" in text else [])
