"""The dispatcher: the report's shape, determinism, threads, and an import that does nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from profiler_rules import Dispatcher, DispatchReport

from .conftest import EXAMPLES


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "result.json").read_text())


def catalogs() -> dict[str, Any]:
    return json.loads((EXAMPLES / "catalogs.json").read_text())


def viewer() -> dict[str, Any]:
    return json.loads((EXAMPLES / "viewer.json").read_text())


def test_report_shape(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example(), catalogs=catalogs(), viewer=viewer()).model_dump(mode="json")
    assert list(report) == ["session_id", "user_id", "ruleset", "engines", "warnings"]
    assert report["ruleset"] == {"digest": dispatcher.ruleset.digest, "version": "1.0.0", "defaults": []}
    assert list(report["engines"]) == list(dispatcher.engines)
    for engine in report["engines"].values():
        assert list(engine) == ["status", "output", "explain", "warnings", "error"]
        assert engine["status"] == "ok"
        assert engine["explain"], "every decision is explained"
        for because in engine["explain"]:
            assert set(because) == {"rule", "file", "line", "message"}
            assert because["file"].endswith(".yaml") and because["line"] >= 1


def test_same_input_and_rules_give_byte_identical_json(dispatcher: Dispatcher) -> None:
    first = dispatcher.dispatch(example(), catalogs=catalogs(), viewer=viewer()).model_dump_json()
    again = (
        Dispatcher.from_rules(entry_points=False)
        .dispatch(json.dumps(example()), catalogs=catalogs(), viewer=viewer())
        .model_dump_json()
    )
    assert first == again


def test_reports_round_trip_through_json(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(example())
    assert DispatchReport.model_validate_json(report.model_dump_json()).model_dump(mode="json") == report.model_dump(
        mode="json"
    )


def test_dispatch_from_many_threads_equals_serial_dispatch(dispatcher: Dispatcher) -> None:
    prepared = dispatcher.prepare_catalogs(catalogs())
    inputs = []
    for index in range(200):
        item = example()
        item["session_id"] = f"s-{index}"
        item["aptitude_breakdown"]["networking"] = index % 101
        item["difficulty_selection"] = ["novice", "elite", "advanced", " Intermediate", "unknown"][index % 5]
        inputs.append(item)
    serial = [dispatcher.dispatch(item, catalogs=prepared, viewer=viewer()).model_dump_json() for item in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(
            pool.map(
                lambda item: dispatcher.dispatch(item, catalogs=prepared, viewer=viewer()).model_dump_json(), inputs
            )
        )
    assert threaded == serial


def test_viewer_is_accepted_as_a_mapping(dispatcher: Dispatcher) -> None:
    report = dispatcher.dispatch(
        example(), viewer={"user_id": "mentor-7", "roles": ["mentor"], "mentee_ids": ["learner-123"]}
    )
    assert report.engines["missions"].status == "ok"


def test_importing_the_package_reads_no_files_and_loads_no_plugins() -> None:
    script = (
        "import sys, builtins, io\n"
        "opened = []\n"
        "real_open = io.open\n"
        "def spy(file, *a, **k):\n"
        "    opened.append(str(file)); return real_open(file, *a, **k)\n"
        "builtins.open = io.open = spy\n"
        "import profiler_rules\n"
        "heavy = [m for m in ('pluggy', 'yaml', 'jsonschema', 'pydantic', 'profiler_rules.plugins') if m in sys.modules]\n"
        "print(opened, heavy)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[] []"
