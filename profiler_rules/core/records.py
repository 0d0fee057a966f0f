"""Decision records: who asked, about which result, under which rules, and what was answered.

A :class:`DecisionRecorder` turns a dispatch's report into a :class:`DecisionRecord` and hands it to
its sinks (:class:`RecordSink`: :class:`JsonLinesSink` here, the Django table in the app). A record
holds each engine's status, output, warnings and error, never explanations (they may describe
protected signals), and its outputs are masked: every key the rule set's access rules protect
(``anti_cheat`` and every grant's detail) is removed at any depth, unless the recorder is built with
``record_protected=True``; even then a record holds only what its report held, and a report holds
anti-cheat signals only for a viewer the access rules allow.

Nothing is dropped silently: a record that can not be built or masked is dropped and counted; a sink
that fails is counted with its last error and logged, and the other sinks still get the record. The
dispatch that was recorded is never failed by recording. See :meth:`DecisionRecorder.status`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_json

from .archive import RuleSetArchive
from .errors import ProfilerRulesError
from .faults import PASSED_THROUGH, describe
from .models import DispatchReport, EngineStatus, Viewer
from .ruleset import RuleSet

logger = logging.getLogger("profiler_rules")

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_to_json = to_json
_WRITTEN_AS_IS = re.compile(r"[A-Za-z0-9_.\- ]+")
"""Keys JSON writes as they are (no quote, backslash or control character to escape)."""
MAX_ERROR_SHOWN = 300
"""The most characters of a sink's last error kept in the status (its first line)."""


class RecordedAnswer(BaseModel):
    """One engine's answer as recorded: its output as JSON, masked; no explanations."""

    model_config = _FROZEN

    status: EngineStatus
    output: Any = None
    warnings: tuple[str, ...] = ()
    error: str | None = None


class DecisionRecord(BaseModel):
    """One dispatch, as an auditor reads it later."""

    model_config = _FROZEN

    call_id: str
    """A fresh uuid4, as 32 hex digits."""
    recorded_at: datetime
    """When the record was made, in UTC."""
    viewer_id: str | None
    viewer_roles: tuple[str, ...]
    """The roles the dispatch was given for the viewer, sorted; empty without a viewer, or when the
    host gave the viewer by id alone (the Django app's learner routes, whose engines read no viewer)."""
    session_id: str
    learner_id: str
    """The result's ``user_id``."""
    engines: tuple[str, ...] | None
    """The engines asked for, as given; ``None`` when every engine was asked."""
    answers: dict[str, RecordedAnswer]
    """Each engine's answer, by engine name, in the report's order."""
    ruleset_digest: str
    ruleset_version: str | None
    plugin_versions: dict[str, str | None]
    masked: tuple[str, ...]
    """The paths removed from the outputs (``mentorship.output.anti_cheat``; ``*`` stands for any
    list index), sorted."""
    origin: str | None = None
    """What the host says of the call: ``"completion"``, ``"view missions"``, ``"reevaluation run 12"``."""


@runtime_checkable
class RecordSink(Protocol):
    """Where records go. ``write`` may raise: the recorder counts it, logs it and carries on."""

    name: str
    """Names the sink in :meth:`DecisionRecorder.status` and the log (unique among a recorder's sinks)."""

    def write(self, records: Sequence[DecisionRecord]) -> None:
        """Keep ``records`` durably (a sink must be safe to call from several threads at once)."""

    def keep_ruleset(self, ruleset: RuleSet) -> None:
        """Keep ``ruleset`` by its digest; called once per digest per process (and again after it
        raised), before the first record under it is written. A spool hands on a rule set it read back
        (a :class:`~.archive.KeptRuleSet`): a sink reads only its ``digest``, ``version`` and ``files``."""


class SpoolStatus(BaseModel):
    """How a spooled sink's delivery to its inner sink has done in this process."""

    model_config = _FROZEN

    pending: int
    """Records waiting in the spool directory (every process's), not yet delivered."""
    delivered: int
    """Records this process handed to the inner sink."""
    damaged: int
    """Spooled lines that could not be read back: kept aside in a ``.damaged`` file, never delivered."""
    failures: int
    """Deliveries that raised (their files stay, and are delivered again next round)."""
    last_error: str | None
    """The last of them, in one line."""


class SinkStatus(BaseModel):
    """How one sink has done since the recorder was built."""

    model_config = _FROZEN

    written: int = 0
    """Records this sink took without raising."""
    failures: int = 0
    """Calls to the sink (``write`` or ``keep_ruleset``) that raised."""
    last_error: str | None = None
    """The last failure, in one line: its type and first line, never a record's values."""
    spool: SpoolStatus | None = None
    """For a spooled sink (:class:`~.spool.SpooledSink`): its delivery, as this process sees it;
    ``written`` then counts the records spooled."""


class RecorderStatus(BaseModel):
    """What a recorder has done since it was built."""

    model_config = _FROZEN

    recorded: int
    """Records built and handed to the sinks."""
    dropped: int
    """Dispatches that could not be recorded (a record that could not be built or masked): never
    written anywhere."""
    last_drop: str | None
    """Why the last one was dropped, in one line (the failure's type and where; never a value)."""
    record_protected: bool
    sinks: dict[str, SinkStatus]


class _Unrecordable(Exception):  # noqa: N818 - a reason to drop, said in words
    """A report that can not become a record, and why (in words that quote no value)."""


def may_hold(text: bytes, protected: Collection[str]) -> bool:
    """Whether JSON ``text`` may hold a key of ``protected``, searched for as JSON writes a key
    (``"anti_cheat":``). Never wrong when it says no: a key that JSON would escape (a quote, a
    backslash, a control character) is always taken to be there; when it says yes, :func:`mask` looks."""
    return any(not _WRITTEN_AS_IS.fullmatch(key) or f'"{key}":'.encode() in text for key in protected)


def mask(value: Any, protected: frozenset[str], path: str, found: set[str]) -> None:
    """Remove the keys in ``protected`` from ``value`` (JSON: dicts, lists and scalars, the caller's
    own to change), at any depth, in place.

    Each key removed is added to ``found`` as its path from ``path`` (``*`` for a list index). Only
    containers are visited, and a dict's protected keys are found by one set intersection: a report
    answer has dozens of values, and this runs for each record that holds a protected key.
    """
    if type(value) is dict:
        for key in protected.intersection(value):
            del value[key]
            found.add(f"{path}.{key}")
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                mask(item, protected, f"{path}.{key}", found)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                mask(item, protected, f"{path}.*", found)


def _answers(report: DispatchReport) -> tuple[dict[str, Any], bytes]:
    """Each engine's answer as JSON, without its explanations, and as JSON text: an answer JSON can
    not hold is found here (and named), not by a sink.

    :raises _Unrecordable: naming the engine whose output JSON can not hold.
    """
    try:
        answers = _dump_answers(report, mode="json", include=_RECORDED)["engines"]
        return answers, _to_json(answers)
    except PASSED_THROUGH:
        raise
    except BaseException:  # noqa: BLE001 - found below, by engine
        pass
    for name, answer in report.engines.items():
        try:
            _to_json(answer.model_dump(mode="json", include={"output"}))
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - an output JSON can not hold: never written unmasked
            raise _Unrecordable(
                f"engine {name!r}'s output can not be written as JSON ({type(error).__name__})"
            ) from None
    raise _Unrecordable("the answers can not be written as JSON")


_RECORDED = {"engines": {"__all__": {"status", "output", "warnings", "error"}}}
"""What a record keeps of a report's answers: no explanation (it may describe protected signals)."""
_dump_answers = DispatchReport.__pydantic_serializer__.to_python
_new_record = DecisionRecord.__pydantic_validator__.validate_python
"""Builds a record from its fields without pydantic's Python wrapper: a record is made per dispatch."""


class DecisionRecorder:
    """Builds a record of each dispatch it is given and hands it to each sink.

    :param sinks: Where records go, each named uniquely.
    :param record_protected: Keep the protected keys in the outputs. A record then holds what its
        report held, which holds anti-cheat signals only for a viewer the access rules allow them.
    """

    def __init__(self, sinks: Sequence[RecordSink], *, record_protected: bool = False) -> None:
        names = [sink.name for sink in sinks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ProfilerRulesError(f"two record sinks are named {', '.join(map(repr, twice))}; name each once")
        self._sinks = tuple(sinks)
        self.record_protected = record_protected
        self._lock = threading.Lock()
        self._kept: set[tuple[str, str]] = set()  # (sink, digest) kept by this process
        self._recorded = 0
        self._dropped = 0
        self._last_drop: str | None = None
        self._sink_status = {sink.name: SinkStatus() for sink in self._sinks}

    @property
    def sinks(self) -> tuple[RecordSink, ...]:
        return self._sinks

    def record(
        self,
        report: DispatchReport,
        *,
        ruleset: RuleSet,
        viewer: Viewer | Mapping[str, Any] | None = None,
        engines: Collection[str] | None = None,
        origin: str | None = None,
        plugin_versions: Mapping[str, str | None] | None = None,
    ) -> DecisionRecord | None:
        """Record one dispatch: its report, the rule set that served it (whose digest the report must
        carry), the viewer it was dispatched for and the engines asked. Returns the record handed to
        the sinks, or ``None`` when it was dropped (counted in :meth:`status`). Never raises for a sink
        or a record that fails: recording must not fail the dispatch it records."""
        record = self._built(report, ruleset, viewer, engines, origin, plugin_versions or {})
        if record is not None:
            self._hand_on([record], ruleset)
        return record

    def record_many(
        self,
        reports: Sequence[DispatchReport],
        *,
        ruleset: RuleSet,
        engines: Collection[str] | None = None,
        origin: str | None = None,
        plugin_versions: Mapping[str, str | None] | None = None,
    ) -> list[DecisionRecord]:
        """Record many dispatches made with no viewer under one rule set (a re-evaluation's chunk), as
        :meth:`record` records one, handing them to each sink in one ``write``. Returns the records
        handed on; each report that could not be recorded is dropped and counted, as :meth:`record` does."""
        versions = plugin_versions or {}
        built = (self._built(report, ruleset, None, engines, origin, versions) for report in reports)
        records = [record for record in built if record is not None]
        if records:
            self._hand_on(records, ruleset)
        return records

    def _built(
        self,
        report: DispatchReport,
        ruleset: RuleSet,
        viewer: Viewer | Mapping[str, Any] | None,
        engines: Collection[str] | None,
        origin: str | None,
        plugin_versions: Mapping[str, str | None],
    ) -> DecisionRecord | None:
        """The record of ``report``, or ``None`` when it could not be built (dropped and counted)."""
        try:
            return self._build(report, ruleset, viewer, engines, origin, plugin_versions)
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - whatever it was, the record is dropped and counted
            self._drop(error)
            return None

    def _hand_on(self, records: list[DecisionRecord], ruleset: RuleSet) -> None:
        with self._lock:
            self._recorded += len(records)
        for sink in self._sinks:
            self._hand(sink, records, ruleset)

    def status(self) -> RecorderStatus:
        """The counts so far: records handed on, dropped, and per sink what it took and its failures."""
        sinks = self._with_spools()
        with self._lock:
            return RecorderStatus(
                recorded=self._recorded,
                dropped=self._dropped,
                last_drop=self._last_drop,
                record_protected=self.record_protected,
                sinks=sinks,
            )

    def _with_spools(self) -> dict[str, SinkStatus]:
        """Each sink's status, a spooled sink's with its delivery (read outside the recorder's lock)."""
        with self._lock:
            statuses = dict(self._sink_status)
        for sink in self._sinks:
            spool_status = getattr(sink, "spool_status", None)
            if spool_status is not None:
                statuses[sink.name] = statuses[sink.name].model_copy(update={"spool": spool_status()})
        return statuses

    def _build(
        self,
        report: DispatchReport,
        ruleset: RuleSet,
        viewer: Viewer | Mapping[str, Any] | None,
        engines: Collection[str] | None,
        origin: str | None,
        plugin_versions: Mapping[str, str | None],
    ) -> DecisionRecord:
        if report.ruleset.digest != ruleset.digest:
            raise _Unrecordable(f"the report is of rule set {report.ruleset.digest}, not {ruleset.digest}")
        who = None if viewer is None else viewer if isinstance(viewer, Viewer) else Viewer.model_validate(viewer)
        answers, text = _answers(report)
        protected = frozenset() if self.record_protected else ruleset.access.protected
        masked: set[str] = set()
        if protected and may_hold(text, protected):
            for name, answer in answers.items():
                mask(answer, protected, name, masked)  # the answers were just made: ours to change
        record = _new_record(
            {
                "call_id": uuid.uuid4().hex,
                "recorded_at": datetime.now(UTC),
                "viewer_id": None if who is None else who.user_id,
                "viewer_roles": () if who is None else tuple(sorted(who.roles)),
                "session_id": report.session_id,
                "learner_id": report.user_id,
                "engines": None if engines is None else tuple(engines),
                "answers": answers,
                "ruleset_digest": ruleset.digest,
                "ruleset_version": ruleset.version,
                "plugin_versions": dict(plugin_versions),
                "masked": tuple(sorted(masked)),
                "origin": origin,
            }
        )
        return record

    def _drop(self, error: BaseException) -> None:
        why = (
            str(error)
            if isinstance(error, _Unrecordable)
            else f"the record could not be built ({type(error).__name__})"
        )
        with self._lock:
            self._dropped += 1
            self._last_drop = why
        logger.error("a decision record was dropped: %s", why)

    def _hand(self, sink: RecordSink, records: list[DecisionRecord], ruleset: RuleSet) -> None:
        key = (sink.name, ruleset.digest)
        if key not in self._kept:
            try:
                sink.keep_ruleset(ruleset)
            except PASSED_THROUGH:
                raise
            except BaseException as error:  # noqa: BLE001 - the sink's failure: counted, the record still goes
                self._failed(sink, "could not keep rule set " + ruleset.digest, error)
            else:
                with self._lock:
                    self._kept.add(key)
        try:
            sink.write(records)
        except PASSED_THROUGH:
            raise
        except BaseException as error:  # noqa: BLE001 - counted and logged; the other sinks still get them
            which = f"record {records[0].call_id}" if len(records) == 1 else f"{len(records)} records"
            self._failed(sink, f"could not write {which}", error)
            return
        with self._lock:
            status = self._sink_status[sink.name]
            self._sink_status[sink.name] = status.model_copy(update={"written": status.written + len(records)})

    def _failed(self, sink: RecordSink, what: str, error: BaseException) -> None:
        line = describe(error).splitlines()[0] if describe(error) else type(error).__name__
        line = line if len(line) <= MAX_ERROR_SHOWN else line[: MAX_ERROR_SHOWN - 1] + "…"
        with self._lock:
            status = self._sink_status[sink.name]
            self._sink_status[sink.name] = status.model_copy(
                update={"failures": status.failures + 1, "last_error": f"{what}: {line}"}
            )
        logger.error("record sink %r %s: %s", sink.name, what, line)


class JsonLinesSink:
    """Appends each record to a file as one line of JSON, and keeps each rule set in an archive.

    Each write is one ``write`` call on a file opened for appending, under a lock: a line is never
    interleaved with another thread's (nor, on a local file system, another process's), and it is in
    the operating system's hands when ``write`` returns, so a crash of the process loses no record
    written.

    :param path: The file, created if missing; its directory must exist.
    :param archive: Where rule sets are kept by digest (a :class:`RuleSetArchive` or its directory);
        ``None`` keeps none.
    """

    def __init__(self, path: str | PathLike[str], archive: RuleSetArchive | str | PathLike[str] | None = None) -> None:
        self.path = Path(path)
        self.name = f"json-lines {self.path}"
        self.archive = archive if archive is None or isinstance(archive, RuleSetArchive) else RuleSetArchive(archive)
        self._lock = threading.Lock()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as error:
            raise ProfilerRulesError(f"cannot open {self.path} for records: {error.strerror or error}") from None

    def write(self, records: Sequence[DecisionRecord]) -> None:
        """Append ``records``, one line each, in one write."""
        data = b"".join(record.model_dump_json().encode() + b"\n" for record in records)
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def keep_ruleset(self, ruleset: RuleSet) -> None:
        """Keep ``ruleset`` in the archive, if the sink has one."""
        if self.archive is not None:
            self.archive.keep(ruleset)

    def close(self) -> None:
        """Close the file; the sink writes no more."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __repr__(self) -> str:
        return f"JsonLinesSink({str(self.path)!r}, archive={self.archive!r})"


def default_archive_of(path: str | PathLike[str]) -> Path:
    """Where a JSON Lines file's rule sets are kept unless said otherwise: ``FILE.rulesets`` beside it."""
    given = Path(path)
    return given.with_name(given.name + ".rulesets")


__all__ = [
    "DecisionRecord",
    "DecisionRecorder",
    "JsonLinesSink",
    "RecordSink",
    "RecordedAnswer",
    "RecorderStatus",
    "SinkStatus",
    "SpoolStatus",
    "default_archive_of",
    "mask",
]
