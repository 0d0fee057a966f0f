"""Rule sets kept by their digest, so that the rules behind any recorded decision stay resolvable.

A :class:`RuleSetArchive` is a directory. Each rule file's bytes are kept once, under their sha256
(``objects/ab/cdef...``: two rule sets sharing a file share its object); each rule set is a small
manifest named by its digest (``rulesets/<hex>.json``: the stems in digest order, each file's sha256,
the version and when it was first kept). Every file is written whole or not at all (a temporary file,
then a hard link that never replaces what is there), so readers never see half a file, two processes
keeping the same rule set agree, and the first-kept time is the first one.

Reading a rule set back (:meth:`RuleSetArchive.get`) checks its files against its digest: a damaged
archive is a :class:`DamagedArchiveError`, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import ProfilerRulesError
from .ruleset import RULES_SUFFIX, RuleSet, digest_of

DIGEST_PREFIX = "sha256:"
MIN_ABBREVIATION = 8
"""The fewest hex digits a digest may be abbreviated to (as ``git`` shows commits, a few more)."""
_HEX = frozenset("0123456789abcdef")


class RuleSetNotFoundError(ProfilerRulesError):
    """No rule set of the digest given is kept (or the abbreviation given fits more than one)."""


class DamagedArchiveError(ProfilerRulesError):
    """A kept rule set's files are missing, unreadable or no longer hash to its digest."""


@dataclass(frozen=True, slots=True)
class KeptRuleSet:
    """A rule set as kept: its digest, version, first-kept time, and each file's stem and exact bytes,
    in the order its digest covers them."""

    digest: str
    version: str | None
    kept_at: datetime | None
    files: tuple[tuple[str, bytes], ...]

    def file_digests(self) -> tuple[tuple[str, str], ...]:
        """Each file's stem and the sha256 of its bytes (hex)."""
        return tuple((stem, hashlib.sha256(raw).hexdigest()) for stem, raw in self.files)

    def write_rules(self, directory: str | PathLike[str]) -> Path:
        """Write the files into ``directory`` as ``<stem>.yaml`` (made if missing; it must hold no rule
        file yet), a rules directory that loads to a rule set of this digest. Returns the directory."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        for stem, raw in self.files:
            with open(target / f"{stem}{RULES_SUFFIX}", "xb") as written:
                written.write(raw)
        return target


def check_digest(digest: str, files: tuple[tuple[str, bytes], ...]) -> None:
    """Raise :class:`DamagedArchiveError` unless ``files`` hash to ``digest``."""
    found = digest_of(files)
    if found != digest:
        raise DamagedArchiveError(f"the files kept for rule set {digest} hash to {found}: the archive is damaged")


def normalize_digest(given: str) -> str:
    """A digest as the user may give it (``sha256:<hex>``, or its hex; case ignored) as hex digits, or
    :class:`RuleSetNotFoundError` saying what a digest looks like."""
    text = given.strip().lower().removeprefix(DIGEST_PREFIX)
    if not text or len(text) > 64 or not set(text) <= _HEX:
        shown = given if len(given) <= 80 else given[:77] + "..."
        raise RuleSetNotFoundError(f"{shown!r} is not a rule set digest (sha256:<64 hex digits>, or its first ones)")
    if len(text) < MIN_ABBREVIATION:
        raise RuleSetNotFoundError(f"digest {given!r} is too short: give at least {MIN_ABBREVIATION} hex digits of it")
    return text


class RuleSetArchive:
    """Rule sets kept by digest in ``directory`` (made on the first :meth:`keep`). Safe to share
    between threads, and between processes keeping into the same directory."""

    def __init__(self, directory: str | PathLike[str]) -> None:
        self.directory = Path(directory)
        self._kept: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RuleSetArchive({str(self.directory)!r})"

    def keep(self, ruleset: RuleSet) -> None:
        """Keep ``ruleset``'s files and manifest, once: a rule set this process kept already costs a set
        lookup, one kept by another process a file check.

        :raises ProfilerRulesError: for a rule set that holds no files (one built by hand), or when the
            archive can not be written (naming the path and the system's reason).
        """
        if ruleset.digest in self._kept:
            return
        if not ruleset.files:
            raise ProfilerRulesError(f"rule set {ruleset.digest} holds no files to keep")
        check_digest(ruleset.digest, ruleset.files)
        try:
            manifest = self._manifest_path(_hex(ruleset.digest))
            if not manifest.exists():
                for _, raw in ruleset.files:
                    self._write_once(self._object_path(hashlib.sha256(raw).hexdigest()), raw)
                self._write_once(manifest, _manifest_bytes(ruleset))
        except OSError as error:
            raise ProfilerRulesError(
                f"cannot keep rule set {ruleset.digest} in {self.directory}: {error.strerror or error}"
            ) from None
        with self._lock:
            self._kept.add(ruleset.digest)

    def get(self, digest: str) -> KeptRuleSet:
        """The kept rule set of ``digest`` (``sha256:<hex>``, its hex, or an unambiguous abbreviation
        of at least :data:`MIN_ABBREVIATION` hex digits), its files checked against its digest.

        :raises RuleSetNotFoundError: naming the digest, when none (or more than one) is kept.
        :raises DamagedArchiveError: when its manifest or files are missing, unreadable or altered.
        """
        found = self.resolve(digest)
        manifest = self._read_manifest(found)
        files = tuple((entry["stem"], self._read_object(found, entry["sha256"])) for entry in manifest["files"])
        check_digest(found, files)
        kept_at = manifest.get("kept_at")
        return KeptRuleSet(
            found, manifest.get("version"), None if kept_at is None else datetime.fromisoformat(kept_at), files
        )

    def resolve(self, digest: str) -> str:
        """The full digest (``sha256:<hex>``) of the one kept rule set ``digest`` names.

        :raises RuleSetNotFoundError: naming the digest, when none or several are kept.
        """
        text = normalize_digest(digest)
        if len(text) == 64:
            if self._manifest_path(text).is_file():
                return DIGEST_PREFIX + text
            raise RuleSetNotFoundError(f"no rule set {DIGEST_PREFIX}{text} is kept in {self.directory}")
        matches = sorted(path.stem for path in self._manifests().glob(f"{text}*.json"))
        if not matches:
            raise RuleSetNotFoundError(f"no rule set whose digest starts {text} is kept in {self.directory}")
        if len(matches) > 1:
            raise RuleSetNotFoundError(
                f"digest {text} is ambiguous: {len(matches)} kept rule sets start with it; give more of it"
            )
        return DIGEST_PREFIX + matches[0]

    def digests(self) -> tuple[str, ...]:
        """Every kept rule set's digest, sorted."""
        return tuple(sorted(DIGEST_PREFIX + path.stem for path in self._manifests().glob("*.json")))

    # -- the files -----------------------------------------------------------------------------------

    def _manifests(self) -> Path:
        return self.directory / "rulesets"

    def _manifest_path(self, hex_digest: str) -> Path:
        return self._manifests() / f"{hex_digest}.json"

    def _object_path(self, sha256: str) -> Path:
        return self.directory / "objects" / sha256[:2] / sha256[2:]

    def _read_manifest(self, digest: str) -> dict[str, Any]:
        path = self._manifest_path(_hex(digest))
        try:
            manifest = json.loads(path.read_bytes())
            files = manifest["files"]
            if not isinstance(files, list) or not all(
                isinstance(entry, dict) and isinstance(entry.get("stem"), str) and isinstance(entry.get("sha256"), str)
                for entry in files
            ):
                raise ValueError("files is not a list of {stem, sha256}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            why = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
            raise DamagedArchiveError(f"the manifest of rule set {digest} ({path}) can not be read: {why}") from None
        return manifest

    def _read_object(self, digest: str, sha256: str) -> bytes:
        if len(sha256) != 64 or not set(sha256) <= _HEX:
            raise DamagedArchiveError(f"the manifest of rule set {digest} names a file by {sha256!r}, not a sha256")
        path = self._object_path(sha256)
        try:
            return path.read_bytes()
        except OSError as error:
            raise DamagedArchiveError(
                f"a file of rule set {digest} ({path}) can not be read: {error.strerror or error}"
            ) from None

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        """Write ``path`` whole unless it exists: a temporary file beside it, linked into place (a link
        never replaces a file, so the first writer wins and nobody sees half a file)."""
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keep-")
        try:
            with os.fdopen(handle, "wb") as written:
                written.write(data)
                written.flush()
                os.fsync(written.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process kept the same bytes first
            except OSError:  # a file system without hard links: replacing is atomic too
                os.replace(temporary, path)
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)


def _hex(digest: str) -> str:
    return digest.removeprefix(DIGEST_PREFIX)


def _manifest_bytes(ruleset: RuleSet) -> bytes:
    manifest = {
        "digest": ruleset.digest,
        "version": ruleset.version,
        "files": [{"stem": stem, "sha256": hashlib.sha256(raw).hexdigest()} for stem, raw in ruleset.files],
        "kept_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps(manifest, indent=2).encode() + b"\n"
