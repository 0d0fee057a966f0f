"""Marketplace: each part of a match score, the weighted sum, the minimum, the order, and its rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from profiler_rules import Dispatcher, InvalidInputError, RulesError

from .conftest import PACKAGED_RULES, edit, line_of, result, run_cli

RULES_FILE = "profiler_rules/rules/marketplace.yaml"


@pytest.fixture(scope="module")
def every_job(tmp_path_factory: pytest.TempPathFactory) -> Dispatcher:
    """The packaged rules with a minimum of 0, so that every job of a catalog is shown with its parts."""
    target = tmp_path_factory.mktemp("every-job") / "rules"
    shutil.copytree(PACKAGED_RULES, target)
    edit(target / "marketplace.yaml", "minimum_score: 60", "minimum_score: 0")
    return Dispatcher.from_rules(target, entry_points=False)


def job(
    id_: str = "j-1",
    track: str = "defender",
    skills: tuple[str, ...] = (),
    level: str = "mid",
    culture: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "id": id_,
        "title": f"Job {id_}",
        "track_key": track,
        "required_skills": list(skills),
        "job_level": level,
        "culture_fit": list(culture),
    }


def marketplace(dispatcher: Dispatcher, jobs: list[dict[str, Any]] | None = None, **fields: Any) -> Any:
    catalogs = None if jobs is None else {"jobs": jobs}
    return dispatcher.dispatch(result(**fields), catalogs=catalogs).engines["marketplace"]


def parts(dispatcher: Dispatcher, one_job: dict[str, Any], **fields: Any) -> dict[str, float]:
    (match,) = marketplace(dispatcher, [one_job], **fields).output.matches
    return match.components.model_dump()


def messages(report: Any) -> list[str]:
    return [because.message for because in report.explain]


# --- track --------------------------------------------------------------------------------------


def test_track_is_the_alignment_of_the_jobs_track_trimmed_and_case_folded(every_job: Dispatcher) -> None:
    alignment = {" Defender ": 85.5, "offensive": 72.3}
    assert parts(every_job, job(track="DEFENDER"), track_alignment=alignment)["track"] == 85.5
    assert parts(every_job, job(track=" offensive"), track_alignment=alignment)["track"] == 72.3


def test_when_two_alignment_keys_fold_alike_the_result_is_invalid(every_job: Dispatcher) -> None:
    # Issue 10: engines read such a pair each their own way, so neither counts: the host keeps one.
    with pytest.raises(InvalidInputError, match="'Defender' and 'defender ' are the same track; keep one"):
        parts(every_job, job(), track_alignment={"Defender": 10, "defender ": 90})


def test_a_track_without_alignment_counts_zero_and_is_explained(every_job: Dispatcher) -> None:
    report = marketplace(every_job, [job(track="grc")], track_alignment={"defender": 85.5})
    assert report.output.matches[0].components.track == 0.0
    assert "the learner has no alignment for track 'grc': it counts 0 for matching" in messages(report)


# --- skills -------------------------------------------------------------------------------------


def test_skills_is_the_mean_with_a_missing_skill_counting_zero(every_job: Dispatcher) -> None:
    report = marketplace(
        every_job,
        [job(skills=("networking", "security", "cloud"))],
        aptitude_breakdown={"networking": 80, "security": 70},
    )
    assert report.output.matches[0].components.skills == 50.0
    assert "skill 'cloud' is not in the aptitude breakdown: it counts 0 for matching" in messages(report)


def test_skills_read_the_counts_shape(every_job: Dispatcher) -> None:
    breakdown = {"networking": {"correct": 3, "total": 4, "points": 30}, "web": {"correct": 1, "total": 3}}
    assert parts(every_job, job(skills=("networking", "web")), aptitude_breakdown=breakdown)["skills"] == round(
        (75 + 33.33) / 2, 2
    )


@pytest.mark.parametrize("written", ["Problem Solving", " problem-solving", "PROBLEM_SOLVING"])
def test_skill_names_match_categories_with_separators_alike(every_job: Dispatcher, written: str) -> None:
    assert parts(every_job, job(skills=(written,)), aptitude_breakdown={"problem_solving": 90})["skills"] == 90.0


def test_skill_names_never_match_part_of_a_category(every_job: Dispatcher) -> None:
    assert parts(every_job, job(skills=("network",)), aptitude_breakdown={"networking": 90})["skills"] == 0.0


@pytest.mark.parametrize("unknown", [None, {"correct": 0, "total": 0}])
def test_an_unknown_skill_score_counts_zero_and_the_explanation_says_so(every_job: Dispatcher, unknown: Any) -> None:
    report = marketplace(
        every_job, [job(skills=("security", "web"))], aptitude_breakdown={"security": unknown, "web": 60}
    )
    assert report.output.matches[0].components.skills == 30.0
    assert "skill 'security' has no known score: unknown counts 0 for matching" in messages(report)


def test_a_skill_written_twice_counts_once(every_job: Dispatcher) -> None:
    skills = ("web", "Web", "security")
    assert parts(every_job, job(skills=skills), aptitude_breakdown={"web": 80, "security": 40})["skills"] == 60.0


def test_a_job_requiring_no_skills_scores_100_on_skills(every_job: Dispatcher) -> None:
    assert parts(every_job, job(skills=()), aptitude_breakdown={"web": 10})["skills"] == 100.0


# --- level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("difficulty", "job_level", "score"),
    [
        ("intermediate", "mid", 100.0),
        ("novice", "entry", 100.0),
        ("beginner", "entry", 100.0),
        ("elite", "expert", 100.0),
        ("intermediate", "senior", 50.0),
        ("intermediate", "entry", 50.0),
        ("advanced", "expert", 50.0),
        ("novice", "senior", 0.0),
        ("elite", "entry", 0.0),
        (" ELITE\n", " Expert ", 100.0),
    ],
)
def test_level_by_steps_apart(every_job: Dispatcher, difficulty: str, job_level: str, score: float) -> None:
    report = marketplace(every_job, [job(level=job_level)], difficulty_selection=difficulty)
    assert report.output.matches[0].components.level == score
    assert report.warnings == ()


def test_the_difficulty_mapping_is_explained_at_its_line(every_job: Dispatcher) -> None:
    report = marketplace(every_job, [job()], difficulty_selection="Advanced")
    (because,) = [because for because in report.explain if because.rule.startswith("difficulty_levels")]
    assert because.message == "difficulty 'advanced' is the job level 'senior'"
    assert (because.rule, because.line) == (
        "difficulty_levels.advanced",
        line_of(PACKAGED_RULES / "marketplace.yaml", "advanced: senior"),
    )


def test_an_unknown_difficulty_scores_zero_with_a_warning_naming_it_and_the_allowed_ones(every_job: Dispatcher) -> None:
    report = marketplace(every_job, [job(level="expert")], difficulty_selection="expert")
    assert report.output.matches[0].components.level == 0.0
    (warning,) = report.warnings
    assert "'expert'" in warning
    assert "allowed: novice, beginner, intermediate, advanced, elite" in warning


@pytest.mark.parametrize("difficulty", [None, "", "   "])
def test_no_difficulty_scores_zero_with_an_explanation_and_no_warning(
    every_job: Dispatcher, difficulty: str | None
) -> None:
    report = marketplace(every_job, [job(level="entry")], difficulty_selection=difficulty)
    assert report.output.matches[0].components.level == 0.0
    assert report.warnings == ()
    assert "the result has no difficulty selection: the level part is 0 for every job" in messages(report)


def test_a_job_level_that_is_not_a_level_scores_zero_with_a_warning_naming_the_job(every_job: Dispatcher) -> None:
    report = marketplace(
        every_job, [job("j-lead", level="lead"), job("j-mid", level="mid")], difficulty_selection="intermediate"
    )
    levels = {match.job_id: match.components.level for match in report.output.matches}
    assert levels == {"j-lead": 0.0, "j-mid": 100.0}
    (warning,) = report.warnings
    assert "'j-lead'" in warning and "'lead'" in warning
    assert "allowed: entry, mid, senior, expert" in warning


def test_changed_level_scores_change_the_level_part(rules_dir: Path) -> None:
    edit(rules_dir / "marketplace.yaml", "  - 50\n", "  - 50\n  - 25\n")
    edit(rules_dir / "marketplace.yaml", "minimum_score: 60", "minimum_score: 0")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert parts(changed, job(level="senior"), difficulty_selection="novice")["level"] == 25.0
    assert parts(changed, job(level="expert"), difficulty_selection="novice")["level"] == 0.0


# --- behavioral ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "score"),
    [
        ({"strengths": [" Curiosity "]}, 100.0),
        ({"behavioral_profile": {"strengths": ["CURIOSITY"]}}, 100.0),
        ({"behavioral_profile": {"curiosity": 5}}, 100.0),  # exactly the cutoff
        ({"behavioral_profile": {"traits": {"Curiosity": 7.5}}}, 100.0),
        ({"behavioral_profile": {"curiosity": 4.99}}, 0.0),  # just below it
        ({"strengths": ["intellectual curiosity"]}, 0.0),  # a whole string, never part of one
        ({}, 0.0),
    ],
)
def test_behavioral_finds_a_trait_among_strengths_or_traits_at_the_cutoff(
    every_job: Dispatcher, fields: dict[str, Any], score: float
) -> None:
    assert parts(every_job, job(culture=("curiosity",)), **fields)["behavioral"] == score


def test_behavioral_is_the_share_of_the_jobs_traits_shown(every_job: Dispatcher) -> None:
    profile = {"traits": {"teamwork": 8, "leadership": 4}, "strengths": ["grit"]}
    culture = ("teamwork", "leadership", "grit", "patience", "Teamwork")  # Teamwork twice counts once
    assert parts(every_job, job(culture=culture), behavioral_profile=profile)["behavioral"] == 50.0


def test_a_job_listing_no_culture_fit_scores_100_on_behavioral(every_job: Dispatcher) -> None:
    assert parts(every_job, job(culture=()))["behavioral"] == 100.0


def test_a_changed_cutoff_changes_what_is_shown(rules_dir: Path) -> None:
    edit(rules_dir / "marketplace.yaml", "behavioral_cutoff: 5", "behavioral_cutoff: 8")
    edit(rules_dir / "marketplace.yaml", "minimum_score: 60", "minimum_score: 0")
    changed = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert parts(changed, job(culture=("teamwork",)), behavioral_profile={"teamwork": 7.5})["behavioral"] == 0.0
    assert parts(changed, job(culture=("teamwork",)), behavioral_profile={"teamwork": 8})["behavioral"] == 100.0


# --- the match score ----------------------------------------------------------------------------


def test_the_match_score_is_the_weighted_sum_of_the_parts(every_job: Dispatcher) -> None:
    report = marketplace(
        every_job,
        [job(skills=("web", "security"), level="senior", culture=("teamwork", "grit"))],
        track_alignment={"defender": 90},
        aptitude_breakdown={"web": 40, "security": 60},
        difficulty_selection="intermediate",
        strengths=["grit"],
    )
    (match,) = report.output.matches
    assert match.components.model_dump() == {"track": 90.0, "skills": 50.0, "level": 50.0, "behavioral": 50.0}
    assert match.match_score == 78.0  # 0.7 × 90 + 0.2 × 50 + 0.05 × 50 + 0.05 × 50
    assert (
        "job j-1 'Job j-1': 0.7 × track 90 + 0.2 × skills 50 + 0.05 × level 50 + 0.05 × behavioral 50 = 78, "
        "at least the minimum 0 → match"
    ) in messages(report)


@pytest.mark.parametrize(("alignment", "score"), [(33.333, 48.33), (77.777, 79.44), (77.779, 79.45)])
def test_the_match_score_is_rounded_to_two_places(every_job: Dispatcher, alignment: float, score: float) -> None:
    # No skills, no difficulty, no culture fit: 0.7 × alignment + 0.2 × 100 + 0.05 × 0 + 0.05 × 100.
    (match,) = marketplace(every_job, [job()], track_alignment={"defender": alignment}).output.matches
    assert match.match_score == score
    assert match.components.track == round(alignment, 2)


def test_a_job_scoring_exactly_the_minimum_matches(dispatcher: Dispatcher) -> None:
    report = marketplace(dispatcher, [job()], track_alignment={"defender": 50})  # 35 + 20 + 0 + 5
    assert [(match.job_id, match.match_score) for match in report.output.matches] == [("j-1", 60.0)]


def test_a_job_scoring_59_99_does_not_match(dispatcher: Dispatcher, every_job: Dispatcher) -> None:
    alignment = {"defender": 49.9857}  # 0.7 × 49.9857 = 34.98999
    assert marketplace(every_job, [job()], track_alignment=alignment).output.matches[0].match_score == 59.99
    report = marketplace(dispatcher, [job()], track_alignment=alignment)
    assert report.output.matches == ()
    assert report.output.total_jobs_considered == 1
    summary = report.explain[-1]
    assert summary.message == "1 of 1 job(s) scored below the minimum 60 and are not shown"
    assert (summary.rule, summary.file) == ("minimum_score", RULES_FILE)
    assert summary.line == line_of(PACKAGED_RULES / "marketplace.yaml", "minimum_score: 60")


def test_matches_are_sorted_by_score_then_job_id(dispatcher: Dispatcher) -> None:
    jobs = [
        job("b-1", track="offensive"),
        job("low", track="grc"),
        job("a-2", track="offensive"),
        job("top", track="defender"),
        job("10", track="innovation"),
        job("9", track="innovation"),
    ]
    alignment = {"defender": 90, "offensive": 80, "innovation": 70, "grc": 10}
    report = marketplace(dispatcher, jobs, track_alignment=alignment)
    assert [(match.job_id, match.match_score) for match in report.output.matches] == [
        ("top", 88.0),
        ("a-2", 81.0),
        ("b-1", 81.0),
        ("10", 74.0),
        ("9", 74.0),
    ]
    assert report.output.total_jobs_considered == 6
    reversed_report = marketplace(dispatcher, list(reversed(jobs)), track_alignment=alignment)
    assert reversed_report.output.matches == report.output.matches


def test_changed_weights_change_the_scores(rules_dir: Path, dispatcher: Dispatcher) -> None:
    fields = {"track_alignment": {"defender": 90}, "aptitude_breakdown": {"web": 40}}
    (before,) = marketplace(dispatcher, [job(skills=("web",))], **fields).output.matches
    assert before.match_score == 76.0  # 0.7 × 90 + 0.2 × 40 + 0 + 0.05 × 100
    path = rules_dir / "marketplace.yaml"
    edit(path, "  track: 0.70", "  track: 0.50")
    edit(path, "  skills: 0.20", "  skills: 0.40")
    (after,) = marketplace(
        Dispatcher.from_rules(rules_dir, entry_points=False), [job(skills=("web",))], **fields
    ).output.matches
    assert after.match_score == 66.0  # 0.5 × 90 + 0.4 × 40 + 0 + 0.05 × 100
    assert after.components == before.components


def test_the_same_input_gives_byte_identical_json(dispatcher: Dispatcher) -> None:
    fields = result(
        track_alignment={"defender": 85.5, "offensive": 72.3},
        aptitude_breakdown={"web": 38, "networking": {"correct": 2, "total": 3}},
        behavioral_profile={"teamwork": 8, "leadership": 6},
        difficulty_selection="advanced",
    )
    jobs = [
        job("a", skills=("web", "networking"), culture=("teamwork", "leadership")),
        job("b", track="offensive", level="lead"),
    ]
    first = dispatcher.dispatch(fields, catalogs={"jobs": jobs}).engines["marketplace"].model_dump_json()
    second = (
        dispatcher.dispatch(fields, catalogs=dispatcher.prepare_catalogs({"jobs": jobs}))
        .engines["marketplace"]
        .model_dump_json()
    )
    assert first == second


# --- incomplete results and missing catalogs ----------------------------------------------------


@pytest.mark.parametrize("status", ["in_progress", "aptitude_complete", None])
def test_an_incomplete_result_answers_not_complete_and_no_matches(dispatcher: Dispatcher, status: str | None) -> None:
    report = marketplace(dispatcher, [job()], status=status, track_alignment={"defender": 100})
    assert report.status == "ok"
    assert report.output.model_dump() == {
        "profiler_complete": False,
        "recommended_track": None,
        "total_jobs_considered": 0,
        "matches": (),
    }
    (because,) = report.explain
    assert "talent matching needs a finished or locked result" in because.message


def test_a_complete_result_says_so_and_names_its_track(dispatcher: Dispatcher) -> None:
    output = marketplace(dispatcher, [], recommended_track="defender").output
    assert (output.profiler_complete, output.recommended_track, output.matches) == (True, "defender", ())


def test_without_a_jobs_catalog_matches_are_none(dispatcher: Dispatcher) -> None:
    report = marketplace(dispatcher, None, track_alignment={"defender": 100})
    assert report.output.matches is None
    assert report.output.profiler_complete is True
    assert messages(report) == ["no jobs catalog was given, so there are no jobs to match"]


def test_an_invalid_job_is_named_by_its_field(dispatcher: Dispatcher) -> None:
    bad = {"id": "j-2", "title": "No track", "job_level": "mid", "required_skills": "web"}
    with pytest.raises(InvalidInputError) as raised:
        dispatcher.dispatch(result(), catalogs={"jobs": [job(), bad]})
    assert set(raised.value.fields) == {"jobs.1.required_skills"}  # no track_key: its track part is unknown


def test_integer_job_ids_are_read_as_text(dispatcher: Dispatcher) -> None:
    (match,) = marketplace(dispatcher, [{**job(), "id": 42}], track_alignment={"defender": 100}).output.matches
    assert match.job_id == "42"


# --- the rule file ------------------------------------------------------------------------------


def weights_off(rules_dir: Path) -> Path:
    path = rules_dir / "marketplace.yaml"
    edit(path, "  track: 0.70", "  track: 0.60")
    return path


def test_weights_that_do_not_add_up_to_one_are_a_load_error(rules_dir: Path) -> None:
    path = weights_off(rules_dir)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert (problem.file, problem.path, problem.message) == (str(path), "weights", "the weights add up to 0.9, not 1")
    # Within the weights block; test_the_weights_problem_is_at_the_weights_key pins the exact place.
    assert line_of(path, "weights:") <= problem.line <= line_of(path, "behavioral: 0.05")


def test_the_weights_problem_is_at_the_weights_key(rules_dir: Path) -> None:
    path = weights_off(rules_dir)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (line_of(path, "weights:"), 1)
    run = run_cli("check", "--rules", str(rules_dir))
    assert (
        f"{path}:{line_of(path, 'weights:')}:1: error: the weights add up to 0.9, not 1 [weights]"
        in run.stdout.splitlines()
    )


def test_weights_within_a_billionth_of_one_are_accepted(rules_dir: Path) -> None:
    edit(rules_dir / "marketplace.yaml", "  track: 0.70", "  track: 0.7000000000001")
    assert "marketplace" in Dispatcher.from_rules(rules_dir, entry_points=False).engines


def test_check_reports_the_weights_as_a_content_author_sees_them(rules_dir: Path) -> None:
    path = weights_off(rules_dir)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    run = run_cli("check", "--rules", str(rules_dir))
    assert run.code == 1
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        f"{path}:{problem.line}:{problem.column}: error: the weights add up to 0.9, not 1 [weights]"
    ]
    assert re.fullmatch(r"1 problem\(s\) in 1 file\(s\)", run.stderr.splitlines()[0])  # then what to do next


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "  elite: expert",
            "  elite: lead",
            "elite: lead",
            "'lead' is not one of the levels (entry, mid, senior, expert)",
        ),
        (
            "  elite: expert",
            "  elite: expert\n  Novice: entry",
            "Novice: entry",
            "difficulty 'Novice' repeats 'novice'",
        ),
        ("  - expert", "  - expert\n  - Mid", "- Mid", "level 'Mid' repeats 'mid'"),
        ("  - 50", "  - 50\n  - 75", "- 75", "a level further away can not score more: 75 is above 50"),
    ],
)
def test_cross_checks_point_at_the_setting(rules_dir: Path, old: str, new: str, needle: str, message: str) -> None:
    path = rules_dir / "marketplace.yaml"
    edit(path, old, new)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    (problem,) = raised.value.problems
    assert (problem.message, problem.line) == (message, line_of(path, needle))


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("  track: 0.70", "  track: 1.5", "weights.track"),
        ("minimum_score: 60", "minimum_score: 101", "minimum_score"),
        ("behavioral_cutoff: 5", "behavioral_cutoff: 11", "behavioral_cutoff"),
        ("behavioral_cutoff: 5", "behavioral_cutoff: yes", "behavioral_cutoff"),
    ],
)
def test_the_schema_refuses_settings_out_of_range(rules_dir: Path, old: str, new: str, path: str) -> None:
    edit(rules_dir / "marketplace.yaml", old, new)
    with pytest.raises(RulesError) as raised:
        Dispatcher.from_rules(rules_dir, entry_points=False)
    assert [problem.path for problem in raised.value.problems] == [path]


def test_explanations_cite_the_rule_lines(dispatcher: Dispatcher) -> None:
    report = marketplace(dispatcher, [job()], track_alignment={"defender": 100})
    text = (PACKAGED_RULES / "marketplace.yaml").read_text().splitlines()
    cited = [(because.rule, text[because.line - 1]) for because in report.explain]
    assert cited == [
        ("weights.track", "  track: 0.70"),
        ("weights.skills", "  skills: 0.20"),
        ("weights.level", "  level: 0.05"),
        ("weights.behavioral", "  behavioral: 0.05"),
        ("difficulty_levels", "difficulty_levels:"),
        ("weights", "weights:"),
        ("minimum_score", "minimum_score: 60"),
    ]
    assert report.explain[0].message == "the learner's alignment with the job's track → counts 0.7 of the match score"
    assert all(because.file == RULES_FILE for because in report.explain)
