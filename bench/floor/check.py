"""The checker: the floor and the dispatcher agree, result by result, on the whole report's JSON:
every engine's status, output, warnings and explanations (rule, file, line, message), the rule-set
stamp, with explanations and without.

    cd bench && python -m floor.check          # the bundled example and 2,000 varied results
    cd bench && python -m floor.check 300      # fewer

The dispatcher is the reference; the floor never calls it (only this checker does).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import Any

from . import NAMES, dispatch, prepare_catalogs
from .samples import load_catalogs, load_example, sample_results

ADMIN = {"user_id": "admin-1", "roles": ["admin"]}
COACH = {"user_id": "coach-1", "roles": ["coach"], "coachee_ids": [f"learner-{n}" for n in range(1, 301, 3)]}
# Viewers beyond the benchmark's admin, to exercise every grant and denial of access.yaml.
VIEWERS: dict[str, dict[str, Any] | None] = {
    "admin": ADMIN,
    "coach": COACH,
    "no viewer": None,
    "mentor": {"user_id": "mentor-1", "roles": ["mentor"], "mentee_ids": [f"learner-{n}" for n in range(1, 301, 2)]},
    "director": {"user_id": "director-1", "roles": ["director"], "cohort_ids": ["cohort-2026-spring"]},
    "learner": {"user_id": "learner-123", "roles": ["student"]},
    "many roles": {
        "user_id": "learner-7",
        "roles": ["analyst", "coach", "mentor", "coach"],
        "coachee_ids": ["learner-7"],
    },
    "no roles": {"user_id": "nobody"},
}
# Catalog items the bundled catalogs lack: integer ids, codes to normalise, an inactive and an unrated
# recipe, a job level that is not a level, a job with no skills or culture, a skill written twice.
EXTRA_CATALOGS = {
    "missions": [{"id": 7, "title": "Write a YARA rule", "difficulty": 3}],
    "recipes": [
        {"id": 9, "title": "Cloud basics", "skill_codes": [" cloud ", "aws", "AWS"], "usage_count": 320},
        {"id": "r-lead", "title": "Leading a team", "skill_codes": ["LEAD", "COMM"], "is_active": False},
        {"id": "r-net2", "title": "Networks again", "skill_codes": ["NET", "DNS"], "usage_count": 320, "avg_rating": 4.6},
    ],
    "jobs": [
        {"id": 42, "title": "Cloud engineer", "track_key": " Innovation ", "required_skills": ["Cloud", "cloud", "aws"],
         "job_level": "Lead", "culture_fit": []},
        {"id": "job-any", "title": "Apprentice", "track_key": "defender", "job_level": " ENTRY "},
        {"id": "job-lead", "title": "Team lead", "track_key": "leadership", "required_skills": ["reverse engineering"],
         "job_level": "expert", "culture_fit": ["Leadership", "communication", "leadership"]},
    ],
}  # fmt: skip


def catalog_variants() -> dict[str, dict[str, Any]]:
    """The bundled catalogs, none at all, and the bundled ones extended with :data:`EXTRA_CATALOGS`."""
    bundled = load_catalogs()
    extended = {name: bundled.get(name, []) + items for name, items in EXTRA_CATALOGS.items()}
    return {"bundled": bundled, "none": {}, "extended": extended}


_DISPATCHER = None


def reference() -> Any:
    """The dispatcher on the packaged rules, built once: the checker's reference."""
    global _DISPATCHER
    if _DISPATCHER is None:
        from profiler_rules import Dispatcher

        _DISPATCHER = Dispatcher.from_rules(entry_points=False)
    return _DISPATCHER


def check(
    results: Iterable[dict[str, Any]], viewer: dict[str, Any] | None, catalogs: dict[str, Any], *, explain: bool
) -> int:
    """Assert that the floor and the dispatcher give the same report's JSON for every result; how many.

    :raises AssertionError: naming the session, the first differing place and both values there.
    """
    dispatcher = reference()
    theirs_catalogs = dispatcher.prepare_catalogs(catalogs)
    mine_catalogs = prepare_catalogs(catalogs)
    count = 0
    for result in results:
        # The floor's engines only: an engine added to the package is not the floor's (adding one
        # touches no file of bench/), and the report holds the engines named, in the dispatcher's order.
        report = dispatcher.dispatch(result, viewer=viewer, catalogs=theirs_catalogs, engines=NAMES, explain=explain)
        theirs = json.loads(report.model_dump_json())
        mine = json.loads(json.dumps(dispatch(result, viewer, mine_catalogs, explain=explain)))
        where = first_difference(mine, theirs, "report")
        if where is not None:
            raise AssertionError(
                f"session {result.get('session_id')} (explain={explain}): {where} differs: "
                f"floor {lookup(mine, where)!r}, dispatcher {lookup(theirs, where)!r}"
            )
        if not explain:
            _assert_unexplained(mine, result)
        count += 1
    return count


def _assert_unexplained(report: dict[str, Any], result: dict[str, Any]) -> None:
    """Without explanations, an ok answer has none; a skipped or denied one keeps its one reason."""
    for name, answer in report["engines"].items():
        expected = 0 if answer["status"] == "ok" else 1
        if len(answer["explain"]) != expected:
            raise AssertionError(
                f"session {result.get('session_id')}: {name} ({answer['status']}) has "
                f"{len(answer['explain'])} explanations without explain, not {expected}"
            )


def first_difference(mine: Any, theirs: Any, where: str) -> str | None:
    """Where two JSON values first differ (numbers by ==, but a bool is not a number), or None."""
    if isinstance(mine, bool) or isinstance(theirs, bool):
        return None if type(mine) is type(theirs) and mine == theirs else where
    if isinstance(mine, int | float) and isinstance(theirs, int | float):
        return None if mine == theirs else where
    if type(mine) is not type(theirs):
        return where
    if isinstance(mine, dict):
        if list(mine) != list(theirs):
            return f"{where} (keys {list(mine)} vs {list(theirs)})"
        for key in mine:
            found = first_difference(mine[key], theirs[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(mine, list):
        for index, (a, b) in enumerate(zip(mine, theirs, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        return None if len(mine) == len(theirs) else f"{where}[{min(len(mine), len(theirs))}]"
    return None if mine == theirs else where


def lookup(value: Any, where: str) -> Any:
    """The value at a place :func:`first_difference` named, or ``"<absent>"``."""
    for key, index in re.findall(r"\.([^.\[ ]+)|\[(\d+)\]", where.split(" ", 1)[0][len("report") :]):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            return "<absent>"
    return value


def check_all(count: int, *, seed: int = 7) -> int:
    """Every viewer and catalog variant, with and without explanations, over the bundled example and
    ``count`` varied results; how many reports were compared."""
    results = [load_example(), *sample_results(count, seed=seed)]
    compared = 0
    for explain in (True, False):
        for viewer in VIEWERS.values():
            compared += check(results, viewer, catalog_variants()["bundled"], explain=explain)
        for name, catalogs in catalog_variants().items():
            if name != "bundled":
                compared += check(results, ADMIN, catalogs, explain=explain)
    return compared


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 2000
    compared = check_all(count)
    print(
        f"the floor agrees with the dispatcher on {compared:,} reports: the bundled example and {count:,} varied "
        f"results; viewers {', '.join(VIEWERS)}; catalogs {', '.join(catalog_variants())}; with and without "
        "explanations"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
