"""Decision records in the database: the app's default sink, the recorder its settings describe, and
kept rule sets read back by digest.

``PROFILER_RULES["RECORDS"]`` (see :data:`.conf.DEFAULT_RECORDS`) says whether the app records the
dispatches it serves (the views, completion), to which sinks, and whether protected values are kept.
:class:`DatabaseRecordSink` writes :class:`~.models.DecisionRecord` rows and keeps each rule set that
served one as :class:`~.models.KeptRuleSet` and :class:`~.models.KeptRuleFile` rows (each file's bytes
once, by sha256), in the same transaction as the records, so a record's digest always resolves.

With ``RECORDS["SPOOL"]`` set, each sink is wrapped in a :class:`~profiler_rules.core.spool.SpooledSink`
spooling to a directory of its own under ``SPOOL["DIR"]``: a request appends a line, and a thread of
each process delivers the lines in batches (on a database connection of its own, closed after each
round). The table is idempotent by ``call_id``, so a spool file delivered again doubles nothing.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from profiler_rules.core.archive import (
    DIGEST_PREFIX,
    KeptRuleSet,
    RuleSetNotFoundError,
    check_digest,
    normalize_digest,
)
from profiler_rules.core.records import DecisionRecord, DecisionRecorder, RecordSink
from profiler_rules.core.ruleset import RuleSet
from profiler_rules.core.spool import SpooledSink

from . import models
from .conf import DEFAULT_SPOOL, AppSettings


class DatabaseRecordSink:
    """Writes records as :class:`~.models.DecisionRecord` rows (one ``bulk_create`` per write, which
    skips a ``call_id`` already there: a record written again is kept once), and keeps each rule set
    that served one in the same transaction.

    A rule set is looked for (one query) until a transaction of this sink's own has kept it and
    committed; from then on this process writes its records without looking. Written inside a host's
    transaction (``ATOMIC_REQUESTS``, a test), which may yet roll back, it is looked for each time.
    """

    name = "database"

    def __init__(self) -> None:
        self._rulesets: dict[str, RuleSet | KeptRuleSet] = {}
        self._committed: set[str] = set()
        self._lock = threading.Lock()

    def keep_ruleset(self, ruleset: RuleSet | KeptRuleSet) -> None:
        """Remember ``ruleset`` (or one a spool read back): it is written with the first record under
        it, in its transaction."""
        with self._lock:
            self._rulesets[ruleset.digest] = ruleset

    def release_thread(self) -> None:
        """Close this thread's database connections (a spool's delivery thread calls it after each
        round): an idle one is not held open, and a broken one is not used again."""
        connections.close_all()

    def write(self, records: Sequence[DecisionRecord]) -> None:
        """Insert ``records`` (and any rule set of theirs not yet kept) in one transaction: a savepoint
        inside the host's own, so that a failure here leaves the host's transaction usable."""
        using = router.db_for_write(models.DecisionRecord)
        rows = [_row(record) for record in records]
        to_keep = {record.ruleset_digest for record in records} - self._committed
        # Only a transaction of our own commits here; inside the host's, the rule set is looked for
        # again next time (one query), as the host's transaction may yet roll back.
        commits = not transaction.get_connection(using).in_atomic_block
        if commits and not to_keep:
            # Outside any transaction, one insert is atomic by itself: no transaction to open.
            _insert(rows, using)
            return
        with transaction.atomic(using=using):
            for digest in to_keep:
                ruleset = self._rulesets.get(digest)
                if ruleset is not None:
                    keep_ruleset(ruleset, using=using)
            _insert(rows, using)
        if commits:
            with self._lock:
                self._committed |= to_keep & self._rulesets.keys()


def _insert(rows: list[models.DecisionRecord], using: str) -> None:
    """Insert the rows, skipping any whose ``call_id`` is there already: a spool delivers a file again
    whole when its deliverer died midway (``ON CONFLICT DO NOTHING``; SQLite's ``INSERT OR IGNORE``)."""
    models.DecisionRecord.objects.using(using).bulk_create(rows, ignore_conflicts=True)


def _row(record: DecisionRecord) -> models.DecisionRecord:
    fields = record.model_dump(mode="json")  # the JSON columns as JSON (lists, not tuples)
    fields["recorded_at"] = record.recorded_at
    return models.DecisionRecord(**fields)


def keep_ruleset(ruleset: RuleSet | KeptRuleSet, *, using: str | None = None) -> None:
    """Keep ``ruleset`` by its digest in the tables, once: nothing when it is kept already; its files
    are stored once each, by sha256, whoever else keeps them at the same time."""
    kept = models.KeptRuleSet.objects.using(using)
    if kept.filter(digest=ruleset.digest).exists():
        return
    check_digest(ruleset.digest, ruleset.files)
    hashed = [(stem, hashlib.sha256(raw).hexdigest(), raw) for stem, raw in ruleset.files]
    models.KeptRuleFile.objects.using(using).bulk_create(
        [models.KeptRuleFile(sha256=sha256, content=raw) for _, sha256, raw in hashed], ignore_conflicts=True
    )
    kept.bulk_create(
        [
            models.KeptRuleSet(
                digest=ruleset.digest,
                version=ruleset.version,
                files=[{"stem": stem, "sha256": sha256} for stem, sha256, _ in hashed],
                first_kept_at=timezone.now(),
            )
        ],
        ignore_conflicts=True,
    )


def kept_ruleset(digest: str) -> KeptRuleSet:
    """The rule set kept in the tables under ``digest`` (``sha256:<hex>``, its hex, or an unambiguous
    abbreviation), its files checked against its digest.

    :raises RuleSetNotFoundError: naming the digest, when none or several are kept.
    :raises DamagedArchiveError: when a file is missing or its bytes no longer hash to the digest.
    """
    text = normalize_digest(digest)
    found = list(models.KeptRuleSet.objects.filter(digest__startswith=DIGEST_PREFIX + text)[:2])
    if not found:
        raise RuleSetNotFoundError(f"no rule set whose digest starts {DIGEST_PREFIX}{text} is kept in the database")
    if len(found) > 1:
        raise RuleSetNotFoundError(f"digest {text} is ambiguous: several kept rule sets start with it; give more of it")
    row = found[0]
    stored = dict(
        models.KeptRuleFile.objects.filter(sha256__in=[entry["sha256"] for entry in row.files]).values_list(
            "sha256", "content"
        )
    )
    files = tuple((entry["stem"], bytes(stored.get(entry["sha256"], b""))) for entry in row.files)
    check_digest(row.digest, files)
    return KeptRuleSet(row.digest, row.version, row.first_kept_at, files)


def recorder_from_settings(config: AppSettings) -> DecisionRecorder | None:
    """The recorder ``RECORDS`` describes, or ``None`` when recording is off."""
    records = config["RECORDS"]
    if not records["ENABLED"]:
        return None
    sinks = [_sink(entry) for entry in records["SINKS"]]
    if records["SPOOL"] is not None:
        sinks = [_spooled(sink, {**DEFAULT_SPOOL, **records["SPOOL"]}) for sink in sinks]
    return DecisionRecorder(sinks, record_protected=bool(records["RECORD_PROTECTED"]))


def _spooled(sink: RecordSink, spool: Mapping[str, Any]) -> SpooledSink:
    """``sink`` behind a spool of its own: ``SPOOL["DIR"]/<its name, as a file name>``."""
    return SpooledSink(
        sink,
        Path(spool["DIR"]) / spool_name(sink.name),
        flush_seconds=float(spool["FLUSH_SECONDS"]),
        batch=int(spool["BATCH"]),
    )


def spool_name(sink_name: str) -> str:
    """A sink's spool directory name: its name where a file name allows (``database``), plus a short
    hash of it when it had to be changed (``json-lines_tmp_records.jsonl-1a2b3c4d``), so two never meet."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", sink_name)[:80]
    return safe if safe == sink_name else f"{safe}-{hashlib.sha256(sink_name.encode()).hexdigest()[:8]}"


def _sink(entry: str | Mapping[str, Any]) -> RecordSink:
    """One ``SINKS`` entry built: a dotted path called without arguments, or ``{"CLASS", "OPTIONS"}``."""
    if isinstance(entry, str):
        return import_string(entry)()
    return import_string(entry["CLASS"])(**entry.get("OPTIONS", {}))


__all__ = ["DatabaseRecordSink", "keep_ruleset", "kept_ruleset", "recorder_from_settings", "spool_name"]
