"""Decision records in the database: the app's default sink, the recorder its settings describe, and
kept rule sets read back by digest.

``PROFILER_RULES["RECORDS"]`` (see :data:`.conf.DEFAULT_RECORDS`) says whether the app records the
dispatches it serves (the views, completion), to which sinks, and whether protected values are kept.
:class:`DatabaseRecordSink` writes :class:`~.models.DecisionRecord` rows and keeps each rule set that
served one as :class:`~.models.KeptRuleSet` and :class:`~.models.KeptRuleFile` rows (each file's bytes
once, by sha256), in the same transaction as the records, so a record's digest always resolves.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import router, transaction
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

from . import models
from .conf import AppSettings


class DatabaseRecordSink:
    """Writes records as :class:`~.models.DecisionRecord` rows (one ``bulk_create`` per write), and
    keeps each rule set that served one in the same transaction.

    A rule set is looked for (one query) until a transaction of this sink's own has kept it and
    committed; from then on this process writes its records without looking. Written inside a host's
    transaction (``ATOMIC_REQUESTS``, a test), which may yet roll back, it is looked for each time.
    """

    name = "database"

    def __init__(self) -> None:
        self._rulesets: dict[str, RuleSet] = {}
        self._committed: set[str] = set()
        self._lock = threading.Lock()

    def keep_ruleset(self, ruleset: RuleSet) -> None:
        """Remember ``ruleset``: it is written with the first record under it, in its transaction."""
        with self._lock:
            self._rulesets[ruleset.digest] = ruleset

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
    """Insert the rows: one by ``save``, which costs a fifth less than ``bulk_create`` (no transaction
    of its own; the recorder writes one record a dispatch), many by ``bulk_create``."""
    if len(rows) == 1:
        rows[0].save(force_insert=True, using=using)
    else:
        models.DecisionRecord.objects.using(using).bulk_create(rows)


def _row(record: DecisionRecord) -> models.DecisionRecord:
    fields = record.model_dump(mode="json")  # the JSON columns as JSON (lists, not tuples)
    fields["recorded_at"] = record.recorded_at
    return models.DecisionRecord(**fields)


def keep_ruleset(ruleset: RuleSet, *, using: str | None = None) -> None:
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
    return DecisionRecorder(
        [_sink(entry) for entry in records["SINKS"]], record_protected=bool(records["RECORD_PROTECTED"])
    )


def _sink(entry: str | Mapping[str, Any]) -> RecordSink:
    """One ``SINKS`` entry built: a dotted path called without arguments, or ``{"CLASS", "OPTIONS"}``."""
    if isinstance(entry, str):
        return import_string(entry)()
    return import_string(entry["CLASS"])(**entry.get("OPTIONS", {}))


__all__ = ["DatabaseRecordSink", "keep_ruleset", "kept_ruleset", "recorder_from_settings"]
