"""Decision records and rule sets kept by digest, in the core (no Django): real rule files, real JSON
Lines files, real archives on disk, real CLI runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from profiler_rules import Context, Dispatcher, Engine, Outcome, ProfilerResult, Rules, hookimpl
from profiler_rules.core.archive import DamagedArchiveError, RuleSetArchive, RuleSetNotFoundError
from profiler_rules.core.records import DecisionRecord, DecisionRecorder, JsonLinesSink
from profiler_rules.core.ruleset import digest_of

from .conftest import EXAMPLES, FIXTURE_PLUGINS, PACKAGED_RULES, edit, run_cli

LEARNER = "learner-4711"
SCORE = "87.31"
PATTERN = "qq_pattern_5521"
FINGERPRINT = "fp_SECRET_c0ffee42"
SECRETS = (SCORE, PATTERN, FINGERPRINT)
"""The anti-cheat values of the result recorded: none may appear in a record for a viewer not allowed them."""


def anti_cheat_result() -> dict[str, Any]:
    result = json.loads((EXAMPLES / "result.json").read_text())
    result["user_id"] = LEARNER
    result["anti_cheat"] = {
        "score": SCORE,
        "suspicious_patterns": [PATTERN, "too_fast"],
        "device_fingerprint": FINGERPRINT,
    }
    return result


# Every kind of viewer the access rules know, and whether the rules show it the anti-cheat signals.
VIEWERS: dict[str, tuple[dict[str, Any] | None, bool]] = {
    "self": ({"user_id": LEARNER, "roles": ["student"]}, False),
    "assigned mentor": ({"user_id": "m-1", "roles": ["mentor"], "mentee_ids": [LEARNER]}, True),
    "unassigned mentor": ({"user_id": "m-2", "roles": ["mentor"], "mentee_ids": ["someone-else"]}, False),
    "admin": ({"user_id": "a-1", "roles": ["admin"]}, True),
    "assigned coach": ({"user_id": "c-1", "roles": ["coach"], "coachee_ids": [LEARNER]}, False),
    "unassigned coach": ({"user_id": "c-2", "roles": ["coach"], "coachee_ids": ["someone-else"]}, False),
    "analyst": ({"user_id": "an-1", "roles": ["analyst"]}, False),
    "director": ({"user_id": "d-1", "roles": ["director"], "cohort_ids": ["cohort-2026-spring"]}, False),
    "sponsor admin": ({"user_id": "s-1", "roles": ["sponsor_admin"], "sponsor_ids": ["sponsor-acme"]}, False),
    "nobody": ({"user_id": "n-1", "roles": []}, False),
    "no viewer": (None, False),
}


def recording(tmp_path: Path, *, record_protected: bool = False) -> tuple[DecisionRecorder, Path, Path]:
    records, archive = tmp_path / "records.jsonl", tmp_path / "rulesets"
    return DecisionRecorder([JsonLinesSink(records, archive)], record_protected=record_protected), records, archive


def read_records(path: Path) -> list[DecisionRecord]:
    return [DecisionRecord.model_validate_json(line) for line in path.read_bytes().splitlines()]


# --- no protected value for a viewer not allowed it -------------------------------------------------


@pytest.mark.parametrize("record_protected", [False, True], ids=["masked", "record_protected"])
@pytest.mark.parametrize("kind", list(VIEWERS))
def test_no_record_holds_a_protected_value_for_a_viewer_not_allowed_it(
    tmp_path: Path, kind: str, record_protected: bool
) -> None:
    viewer, allowed = VIEWERS[kind]
    recorder, records, _ = recording(tmp_path, record_protected=record_protected)
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    catalogs = json.loads((EXAMPLES / "catalogs.json").read_text())
    report = dispatcher.dispatch(anti_cheat_result(), viewer=viewer, catalogs=catalogs, origin="test")

    shown = report.engines["mentorship"].output
    assert (shown is not None and getattr(shown, "anti_cheat", None) is not None) is allowed  # the rules' answer
    written = records.read_bytes()
    (record,) = read_records(records)
    as_json = record.model_dump_json()
    for secret in SECRETS:
        if record_protected and allowed:
            assert secret in as_json and secret.encode() in written  # what the report held, as configured
        else:
            assert secret not in as_json and secret.encode() not in written
    expected_mask = ("mentorship.output.anti_cheat",) if allowed and not record_protected else ()
    assert record.masked == expected_mask
    assert "anti_cheat" not in json.dumps(record.answers["mentorship"].output) or (record_protected and allowed)
    assert (record.viewer_id, record.viewer_roles) == (
        (None, ()) if viewer is None else (viewer["user_id"], tuple(sorted(viewer["roles"])))
    )
    assert (record.learner_id, record.session_id, record.origin) == (LEARNER, report.session_id, "test")
    assert record.ruleset_digest == report.ruleset.digest and record.engines is None
    assert list(record.answers) == list(report.engines)
    assert all(answer.status == report.engines[name].status for name, answer in record.answers.items())
    assert record.plugin_versions.keys() >= {"missions", "mentorship"}


def test_a_record_has_no_explanations_and_the_engines_asked(tmp_path: Path) -> None:
    recorder, records, _ = recording(tmp_path)
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    dispatcher.dispatch(anti_cheat_result(), viewer=VIEWERS["admin"][0], engines=["mentorship", "missions"])
    line = json.loads(records.read_bytes())
    assert "explain" not in json.dumps(line) and line["engines"] == ["mentorship", "missions"]
    assert list(line["answers"]) == ["missions", "mentorship"]
    assert len(line["call_id"]) == 32 and line["recorded_at"].endswith("Z")


def test_recording_changes_no_report_and_record_false_leaves_a_call_out(tmp_path: Path) -> None:
    recorder, records, _ = recording(tmp_path)
    plain = Dispatcher.from_rules(entry_points=False)
    recorded = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    result, viewer = anti_cheat_result(), VIEWERS["admin"][0]
    assert recorded.dispatch(result, viewer=viewer).model_dump_json() == plain.dispatch(
        result, viewer=viewer
    ).model_dump_json().replace(plain.ruleset.digest, recorded.ruleset.digest)
    recorded.dispatch(result, viewer=viewer, record=False)
    assert len(read_records(records)) == 1
    assert recorded.status().recorder is not None and recorded.status().recorder.recorded == 1
    assert plain.status().recorder is None


# --- rule sets kept by digest -----------------------------------------------------------------------


def test_a_rule_set_keeps_its_files_and_their_digest_is_computed_again(dispatcher: Dispatcher) -> None:
    files = dict(dispatcher.ruleset.files)
    assert files["missions"] == (PACKAGED_RULES / "missions.yaml").read_bytes()
    assert [stem for stem, _ in dispatcher.ruleset.files] == sorted(files)
    assert digest_of(dispatcher.ruleset.files) == dispatcher.ruleset.digest


def test_a_recorded_decision_is_traced_to_its_exact_rules_after_they_changed_twice(
    tmp_path: Path, rules_dir: Path
) -> None:
    recorder, records, archive = recording(tmp_path)
    result = anti_cheat_result()
    missions = rules_dir / "missions.yaml"
    rules_a = missions.read_bytes()
    Dispatcher.from_rules(rules_dir, entry_points=False, recorder=recorder).dispatch(result, viewer=VIEWERS["admin"][0])
    edit(missions, "intermediate: 2", "intermediate: 3")
    Dispatcher.from_rules(rules_dir, entry_points=False, recorder=recorder).dispatch(result, viewer=VIEWERS["admin"][0])
    edit(missions, "novice: 1", "novice: 2")
    Dispatcher.from_rules(rules_dir, entry_points=False, recorder=recorder).dispatch(result, viewer=VIEWERS["admin"][0])

    first, second, third = read_records(records)
    assert len({first.ruleset_digest, second.ruleset_digest, third.ruleset_digest}) == 3
    assert [record.answers["missions"].output["max_difficulty"] for record in (first, second, third)] == [2, 3, 3]

    shown = run_cli("show-ruleset", first.ruleset_digest, "--archive", str(archive))
    assert shown.code == 0, shown.stderr
    assert rules_a.decode() in shown.stdout and "intermediate: 3" not in shown.stdout
    one = run_cli("show-ruleset", first.ruleset_digest[7:19], "--archive", str(archive), "--file", "missions")
    assert (one.code, one.stdout.encode()) == (0, rules_a)

    kept = RuleSetArchive(archive).get(first.ruleset_digest)
    rebuilt = Dispatcher.from_rules(kept.write_rules(tmp_path / "rebuilt"), entry_points=False)
    assert rebuilt.ruleset.digest == first.ruleset_digest
    again = DecisionRecorder([]).record(
        rebuilt.dispatch(result, viewer=VIEWERS["admin"][0]), ruleset=rebuilt.ruleset, viewer=VIEWERS["admin"][0]
    )
    assert again is not None and again.answers == first.answers


def test_show_ruleset_prints_each_file_headed_by_its_stem_and_sha256(tmp_path: Path, dispatcher: Dispatcher) -> None:
    archive = RuleSetArchive(tmp_path / "rulesets")
    archive.keep(dispatcher.ruleset)
    shown = run_cli("show-ruleset", dispatcher.ruleset.digest, "--archive", str(archive.directory))
    assert shown.code == 0
    kept = archive.get(dispatcher.ruleset.digest)
    for stem, sha256 in kept.file_digests():
        assert f"==> {stem} sha256:{sha256} <==" in shown.stdout
    assert shown.stdout.startswith(f"# rule set {dispatcher.ruleset.digest} (version 1.0.0), first kept ")


def test_an_unknown_or_ambiguous_digest_is_one_line_naming_it(tmp_path: Path, dispatcher: Dispatcher) -> None:
    archive = RuleSetArchive(tmp_path / "rulesets")
    archive.keep(dispatcher.ruleset)
    unknown = run_cli("show-ruleset", "sha256:" + "0" * 64, "--archive", str(archive.directory))
    assert unknown.code == 2 and unknown.stdout == ""
    assert unknown.stderr == f"profiler-rules: error: no rule set sha256:{'0' * 64} is kept in {archive.directory}\n"
    short = run_cli("show-ruleset", "53d9", "--archive", str(archive.directory))
    assert short.code == 2 and "too short" in short.stderr and short.stderr.count("\n") == 1
    missing = run_cli("show-ruleset", dispatcher.ruleset.digest, "--archive", str(tmp_path / "nowhere"))
    assert missing.code == 2 and "no such rule-set archive" in missing.stderr
    no_file = run_cli("show-ruleset", dispatcher.ruleset.digest, "--archive", str(archive.directory), "--file", "x")
    assert no_file.code == 2 and "has no file 'x'" in no_file.stderr

    # Two kept rule sets whose digests share a prefix: written by hand, as another rule set would be.
    hex_digest = dispatcher.ruleset.digest.removeprefix("sha256:")
    manifests = archive.directory / "rulesets"
    twin = manifests / f"{hex_digest[:12]}{'f' * 52}.json"
    twin.write_bytes((manifests / f"{hex_digest}.json").read_bytes())
    with pytest.raises(RuleSetNotFoundError, match="ambiguous: 2 kept rule sets"):
        archive.get(hex_digest[:12])
    assert archive.get(hex_digest).digest == dispatcher.ruleset.digest  # the whole digest is never ambiguous


def test_a_damaged_archive_is_a_clear_error_never_a_wrong_answer(tmp_path: Path, dispatcher: Dispatcher) -> None:
    archive = RuleSetArchive(tmp_path / "rulesets")
    archive.keep(dispatcher.ruleset)
    kept = archive.get(dispatcher.ruleset.digest)
    sha256 = dict(kept.file_digests())["missions"]
    damaged = archive.directory / "objects" / sha256[:2] / sha256[2:]
    damaged.write_bytes(damaged.read_bytes().replace(b"intermediate: 2", b"intermediate: 4"))
    with pytest.raises(DamagedArchiveError, match="hash to sha256:"):
        archive.get(dispatcher.ruleset.digest)
    shown = run_cli("show-ruleset", dispatcher.ruleset.digest, "--archive", str(archive.directory))
    assert (shown.code, shown.stdout) == (1, "") and "the archive is damaged" in shown.stderr
    damaged.unlink()
    with pytest.raises(DamagedArchiveError, match="can not be read"):
        archive.get(dispatcher.ruleset.digest)


def test_keeping_is_idempotent_and_each_file_is_stored_once(tmp_path: Path, rules_dir: Path) -> None:
    archive = RuleSetArchive(tmp_path / "rulesets")
    first = Dispatcher.from_rules(rules_dir, entry_points=False).ruleset
    archive.keep(first)
    manifest = archive.directory / "rulesets" / f"{first.digest.removeprefix('sha256:')}.json"
    kept_at = json.loads(manifest.read_bytes())["kept_at"]
    RuleSetArchive(archive.directory).keep(first)  # another process, say
    assert json.loads(manifest.read_bytes())["kept_at"] == kept_at
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    archive.keep(Dispatcher.from_rules(rules_dir, entry_points=False).ruleset)
    objects = [path for path in (archive.directory / "objects").rglob("*") if path.is_file()]
    assert len(objects) == len(first.files) + 1  # only the changed file is new
    assert len(archive.digests()) == 2


# --- failures: a failing sink, a record that can not be masked -------------------------------------


def test_a_failing_sink_is_counted_and_the_other_sink_and_the_dispatch_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = JsonLinesSink("/dev/full")  # every write fails: no space left on the device
    good = JsonLinesSink(tmp_path / "records.jsonl", tmp_path / "rulesets")
    recorder = DecisionRecorder([full, good])
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    for _ in range(3):
        report = dispatcher.dispatch(anti_cheat_result(), viewer=VIEWERS["admin"][0])
        assert report.engines["mentorship"].status == "ok"
    status = dispatcher.status().recorder
    assert status is not None and (status.recorded, status.dropped) == (3, 0)
    assert status.sinks[full.name].failures == 3 and status.sinks[full.name].written == 0
    assert status.sinks[full.name].last_error.startswith("could not write record ")
    assert "No space left on device" in status.sinks[full.name].last_error
    assert (status.sinks[good.name].written, status.sinks[good.name].failures) == (3, 0)
    assert len(read_records(tmp_path / "records.jsonl")) == 3
    assert "record sink 'json-lines /dev/full' could not write record" in caplog.text
    assert not any(secret in caplog.text or secret in str(status) for secret in SECRETS)


class _NoRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    threshold: float
    badge: str


class _Odd(BaseModel):
    held: Any


class _OddEngine(Engine):
    """Answers with an output JSON can not hold (an object of no JSON form) for one learner."""

    name = "odd"
    settings_model = _NoRules
    default_rules_file = FIXTURE_PLUGINS / "badges_engine" / "badges.yaml"
    requires_complete = False

    def evaluate(self, result: ProfilerResult, rules: Rules[_NoRules], context: Context) -> Outcome:
        return Outcome(_Odd(held=object() if result.user_id == "odd-one" else {"anti_cheat": 1, "fine": 2}))


class _OddPlugin:
    @hookimpl
    def profiler_rules_register_engines(self, register: Callable[[Engine], None]) -> None:
        register(_OddEngine())


def test_a_record_that_can_not_be_masked_is_dropped_counted_and_never_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder, records, _ = recording(tmp_path)
    dispatcher = Dispatcher.from_rules(plugins=[_OddPlugin()], entry_points=False, recorder=recorder)
    report = dispatcher.dispatch({**anti_cheat_result(), "user_id": "odd-one"}, viewer=VIEWERS["admin"][0])
    assert report.engines["odd"].status == "ok" and report.engines["mentorship"].status == "ok"  # answered
    assert records.read_bytes() == b""
    status = recorder.status()
    assert (status.recorded, status.dropped) == (0, 1)
    assert status.last_drop == "engine 'odd''s output can not be written as JSON (PydanticSerializationError)"
    assert "a decision record was dropped" in caplog.text

    dispatcher.dispatch(anti_cheat_result(), viewer=VIEWERS["admin"][0])
    (record,) = read_records(records)
    assert record.answers["odd"].output == {"held": {"fine": 2}}  # masked at any depth
    assert record.masked == ("mentorship.output.anti_cheat", "odd.output.held.anti_cheat")


def test_a_record_under_rules_other_than_the_reports_is_dropped(tmp_path: Path, rules_dir: Path) -> None:
    recorder, records, _ = recording(tmp_path)
    before = Dispatcher.from_rules(rules_dir, entry_points=False)
    edit(rules_dir / "missions.yaml", "intermediate: 2", "intermediate: 3")
    after = Dispatcher.from_rules(rules_dir, entry_points=False)
    assert recorder.record(before.dispatch(anti_cheat_result()), ruleset=after.ruleset) is None
    assert recorder.status().dropped == 1 and records.read_bytes() == b""


# --- threads and the CLI ------------------------------------------------------------------------------


def test_many_threads_recording_to_one_file_write_whole_lines(tmp_path: Path) -> None:
    recorder, records, archive = recording(tmp_path)
    dispatcher = Dispatcher.from_rules(entry_points=False, recorder=recorder)
    threads, per_thread = 8, 40
    start = threading.Barrier(threads)

    def work(number: int) -> None:
        start.wait()
        for index in range(per_thread):
            dispatcher.dispatch({**anti_cheat_result(), "session_id": f"s-{number}-{index}"}, viewer=None)

    workers = [threading.Thread(target=work, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lines = records.read_bytes().splitlines()
    assert len(lines) == threads * per_thread
    sessions = {json.loads(line)["session_id"] for line in lines}
    assert len(sessions) == threads * per_thread
    assert RuleSetArchive(archive).digests() == (dispatcher.ruleset.digest,)
    assert recorder.status().sinks[f"json-lines {records}"].written == threads * per_thread


def test_cli_dispatch_records_each_result_and_keeps_the_rules_beside(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text("".join(json.dumps({**anti_cheat_result(), "session_id": f"s-{n}"}) + "\n" for n in range(3)))
    record = tmp_path / "decisions.jsonl"
    viewer = json.dumps(VIEWERS["admin"][0])
    run = run_cli(
        "dispatch", str(results), "--viewer", viewer, "--record", str(record), "--output", str(tmp_path / "o")
    )
    assert run.code == 0, run.stderr
    written = read_records(record)
    assert [line.session_id for line in written] == ["s-0", "s-1", "s-2"]
    assert not any(secret.encode() in record.read_bytes() for secret in SECRETS)
    assert RuleSetArchive(tmp_path / "decisions.jsonl.rulesets").get(written[0].ruleset_digest).digest
    one = run_cli("dispatch", "--example", "--record", str(tmp_path / "one.jsonl"), "--archive", str(tmp_path / "a"))
    assert one.code == 0 and len(read_records(tmp_path / "one.jsonl")) == 1
    assert RuleSetArchive(tmp_path / "a").digests() == (written[0].ruleset_digest,)


def test_cli_record_refusals_are_one_line(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(anti_cheat_result()) + "\n")
    workers = run_cli("dispatch", str(results), "--workers", "2", "--record", str(tmp_path / "r.jsonl"))
    assert (workers.code, workers.stderr) == (
        2,
        "profiler-rules: error: --record records on one process; leave out --workers\n",
    )
    archive_only = run_cli("dispatch", "--example", "--archive", str(tmp_path / "a"))
    assert archive_only.code == 2 and "give --record too" in archive_only.stderr
    nowhere = run_cli("dispatch", "--example", "--record", str(tmp_path / "no" / "r.jsonl"))
    assert nowhere.code == 2 and nowhere.stderr.startswith("profiler-rules: error: cannot open ")
    full = run_cli("dispatch", "--example", "--record", "/dev/full", "--archive", str(tmp_path / "a"))
    assert full.code == 1 and "--record: 1 failure(s) of json-lines /dev/full" in full.stderr
