"""The host's rows, read as profiler results: one learner at a time, or every learner in chunks.

A learner's result is their latest complete session (``COMPLETE_STATUSES``; the latest by
``completed_at``, sessions without one last, then by ``started_at``), with its result row when there is
one, the answers to identity questions, the cohorts of their active enrollments and the track's key.
Both stored shapes of the platform read as they are: the core tells them apart.

Reading one learner costs four queries, whatever they hold; reading many costs five per chunk of
``CHUNK_SIZE`` learners, never one per row. Results are plain mappings, validated by the dispatcher that
receives them, so one bad row is that learner's :class:`~profiler_rules.InvalidInputError`, never the
batch's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, Model, QuerySet

from .conf import AppSettings, app_settings


@dataclass(frozen=True)
class Learner:
    """One learner's latest complete result, with the rows it was read from."""

    key: str
    """The learner's id as the rules see it (``USER_ID``: the user's pk or uuid_id, as text)."""
    user_pk: Any
    session: Model
    result: Mapping[str, Any]
    """The :class:`~profiler_rules.ProfilerResult` as a mapping, for the dispatcher to validate."""


class ResultSource:
    """Reads learners' results from the models and fields the app's settings name."""

    def __init__(self, config: AppSettings | None = None) -> None:
        self.config = config or app_settings()

    # -- the models and fields -------------------------------------------------------------------

    @cached_property
    def _session(self) -> type[Model]:
        return self.config.model("session")

    def _f(self, model: str, name: str) -> str:
        return self.config.field(model, name)

    def user_key(self, user: Model) -> str:
        """The id of ``user`` as the rules see it."""
        return self.config.user_key(user)

    def complete_sessions(self) -> QuerySet[Any]:
        """Every complete session, latest first per learner, with its result row and user joined."""
        f = self._f
        ordering = [
            F(f("session", "completed_at")).desc(nulls_last=True),
            F(f("session", "started_at")).desc(nulls_last=True),
            "-pk",
        ]
        return (
            self._sessions()
            .filter(**{f"{f('session', 'status')}__in": self.config["COMPLETE_STATUSES"]})
            .order_by(*ordering)
        )

    def _sessions(self) -> QuerySet[Any]:
        # Only the fields the app reads (FIELDS), the user and the result row joined: a platform's
        # session also holds every answer given (aptitude_responses, ...), which is most of its bytes.
        user = self._f("session", "user")
        related = [user] + ([self._result_accessor] if self._result_accessor else [])
        return self._session._default_manager.select_related(*related).only(*self._read_fields)

    @cached_property
    def _read_fields(self) -> list[str]:
        session = [name for name in self.config["FIELDS"]["session"].values() if "__" not in name]
        result = [f"{self._result_accessor}__{name}" for name in self.config["FIELDS"]["result"].values()]
        return session + (result if self._result_accessor else [])

    @cached_property
    def _result_accessor(self) -> str | None:
        # The reverse one-to-one from a session to its result row (``session.result`` on the platform).
        result_model = self.config.model("result")
        field = result_model._meta.get_field(self._f("result", "session"))
        return field.related_query_name() if field.one_to_one else None

    # -- one learner -----------------------------------------------------------------------------

    def learner(self, user: Model) -> Learner | None:
        """``user``'s latest complete result, or ``None`` when they have none. Four queries."""
        session = self.complete_sessions().filter(**{self._f("session", "user"): user}).first()
        if session is None:
            return None
        return next(iter(self._learners([session])))

    def learner_of_session(self, session_pk: Any) -> Learner | None:
        """The result the session ``session_pk`` gives, complete or not (for completion); ``None`` when gone."""
        session = self._sessions().filter(pk=session_pk).first()
        return None if session is None else next(iter(self._learners([session])))

    # -- many learners ---------------------------------------------------------------------------

    def learners(self, *, after: Any = None, users: Iterable[Any] | None = None) -> Iterator[Learner]:
        """Every learner with a complete result, in the order of their user's primary key, chunk by chunk.

        :param after: Start after the learner whose user's primary key this is (to resume).
        :param users: Only these users' primary keys.
        """
        chunk = self.config["CHUNK_SIZE"]
        user_field = self._f("session", "user")
        while True:
            pks = self._next_user_pks(after, users, chunk)
            if not pks:
                return
            latest: dict[Any, Model] = {}
            for session in self.complete_sessions().filter(**{f"{user_field}__in": pks}):
                latest.setdefault(getattr(session, f"{user_field}_id"), session)
            yield from self._learners([latest[pk] for pk in pks if pk in latest])
            if len(pks) < chunk:
                return
            after = pks[-1]

    def learners_of(self, user_keys: Sequence[str]) -> list[Learner]:
        """The learners whose user's primary key is one of ``user_keys`` (as text, as a task message
        carries them), in that order; those without a complete result are left out. Five queries.
        """
        user_field = self._f("session", "user")
        pks = [self._user_pk(key) for key in user_keys]
        latest: dict[Any, Model] = {}
        for session in self.complete_sessions().filter(**{f"{user_field}__in": pks}):
            latest.setdefault(getattr(session, f"{user_field}_id"), session)
        return list(self._learners([latest[pk] for pk in pks if pk in latest]))

    def user_pks(self) -> Iterator[Any]:
        """The primary key of every user with a complete result, in order, read in one streamed query."""
        user_field = self._f("session", "user")
        query = self._session._default_manager.filter(
            **{f"{self._f('session', 'status')}__in": self.config["COMPLETE_STATUSES"]}
        )
        pks = query.order_by(user_field).values_list(user_field, flat=True).distinct()
        return pks.iterator(chunk_size=self.config["CHUNK_SIZE"])

    def _user_pk(self, text: str) -> Any:
        """A user's primary key from its text."""
        user = self._session._meta.get_field(self._f("session", "user")).related_model
        return user._meta.pk.to_python(text)

    def _next_user_pks(self, after: Any, users: Iterable[Any] | None, chunk: int) -> list[Any]:
        user_field = self._f("session", "user")
        query = self._session._default_manager.filter(
            **{f"{self._f('session', 'status')}__in": self.config["COMPLETE_STATUSES"]}
        )
        if after is not None:
            query = query.filter(**{f"{user_field}__gt": after})
        if users is not None:
            query = query.filter(**{f"{user_field}__in": list(users)})
        pks = query.order_by(user_field).values_list(user_field, flat=True).distinct()[:chunk]
        return list(pks)

    def count(self) -> int:
        """How many learners have a complete result."""
        return (
            self._session._default_manager.filter(
                **{f"{self._f('session', 'status')}__in": self.config["COMPLETE_STATUSES"]}
            )
            .values(self._f("session", "user"))
            .distinct()
            .count()
        )

    # -- building results ------------------------------------------------------------------------

    def _learners(self, sessions: list[Model]) -> Iterator[Learner]:
        if not sessions:
            return
        user_field = self._f("session", "user")
        user_pks = [getattr(session, f"{user_field}_id") for session in sessions]
        identity = self._identity_values([session.pk for session in sessions])
        enrollments = self._enrollments(user_pks)
        tracks = self._track_keys({self._value(session, "session", "recommended_track_id") for session in sessions})
        for session, user_pk in zip(sessions, user_pks, strict=True):
            user = getattr(session, user_field)
            yield Learner(
                key=self.user_key(user),
                user_pk=user_pk,
                session=session,
                result=self._result(session, user, identity.get(session.pk, ()), enrollments.get(user_pk, ()), tracks),
            )

    def _value(self, row: Model | None, model: str, name: str) -> Any:
        if row is None:
            return None
        return getattr(row, self._f(model, name), None)

    def result_row(self, session: Model) -> Model | None:
        """The result row of a session this source read (joined: no query), or ``None`` without one."""
        if self._result_accessor is None:
            return None
        try:
            return getattr(session, self._result_accessor)
        except ObjectDoesNotExist:  # a session without its result row, as the platform has
            return None

    def _result(
        self,
        session: Model,
        user: Model,
        identity_values: Iterable[str],
        enrollments: Iterable[tuple[str, str | None]],
        tracks: Mapping[Any, str],
    ) -> dict[str, Any]:
        row = self.result_row(session)
        value = self._value
        track_id = value(session, "session", "recommended_track_id")
        responses = value(session, "session", "behavioral_responses") or {}
        enrolled = list(enrollments)
        sponsors = [sponsor for _, sponsor in enrolled if sponsor is not None]
        aptitude = value(row, "result", "aptitude_score")
        return {
            "session_id": str(session.pk),
            "user_id": self.user_key(user),
            "status": value(session, "session", "status"),
            "completed_at": value(session, "session", "completed_at"),
            "difficulty_selection": value(session, "session", "difficulty_selection") or None,
            "scores": {
                "overall": value(row, "result", "overall_score"),
                "aptitude": aptitude if aptitude is not None else value(session, "session", "aptitude_score"),
                "behavioral": value(row, "result", "behavioral_score"),
            },
            "technical_exposure_score": value(session, "session", "technical_exposure_score"),
            "aptitude_breakdown": value(row, "result", "aptitude_breakdown") or {},
            "behavioral_profile": value(session, "session", "behavioral_profile")
            or value(row, "result", "behavioral_traits")
            or {},
            "strengths": value(session, "session", "strengths") or value(row, "result", "strengths") or [],
            "areas_for_growth": value(row, "result", "areas_for_growth") or [],
            "recommended_track": None if track_id is None else tracks.get(track_id, str(track_id)),
            "track_confidence": value(session, "session", "track_confidence"),
            "track_alignment": value(session, "session", "track_alignment") or {},
            "future_you_persona": value(session, "session", "future_you_persona"),
            "anti_cheat": {
                "score": value(session, "session", "anti_cheat_score"),
                "suspicious_patterns": value(session, "session", "suspicious_patterns") or [],
                "device_fingerprint": value(session, "session", "device_fingerprint"),
            },
            "answers": {
                "why_cyber": _text(responses.get("why_cyber")) if isinstance(responses, Mapping) else None,
                "what_achieve": _text(responses.get("what_achieve")) if isinstance(responses, Mapping) else None,
                "identity_values": list(identity_values),
            },
            "cohort_ids": sorted({cohort for cohort, _ in enrolled}),
            "sponsor_id": sponsors[0] if sponsors else None,
        }

    def _identity_values(self, session_pks: list[Any]) -> dict[Any, list[str]]:
        answer = self.config.model("answer")
        session, category = self._f("answer", "session"), self._f("answer", "category")
        rows = (
            answer._default_manager.filter(
                **{f"{session}__in": session_pks, category: self.config["IDENTITY_CATEGORY"]}
            )
            .order_by("pk")
            .values_list(f"{session}_id" if "__" not in session else session, self._f("answer", "answer"))
        )
        values: dict[Any, list[str]] = defaultdict(list)
        for session_pk, given in rows:
            for text in _answer_texts(given):
                if text not in values[session_pk]:
                    values[session_pk].append(text)
        return values

    def _enrollments(self, user_pks: list[Any]) -> dict[Any, list[tuple[str, str | None]]]:
        enrollment = self.config.model("enrollment")
        user, cohort, sponsor = (self._f("enrollment", name) for name in ("user", "cohort", "sponsor"))
        rows = (
            enrollment._default_manager.filter(
                **{f"{user}__in": user_pks, self._f("enrollment", "status"): self.config["ACTIVE_STATUS"]}
            )
            .order_by("pk")
            .values_list(f"{user}_id", f"{cohort}_id", f"{sponsor}_id")
        )
        found: dict[Any, list[tuple[str, str | None]]] = defaultdict(list)
        for user_pk, cohort_pk, sponsor_pk in rows:
            found[user_pk].append((str(cohort_pk), None if sponsor_pk is None else str(sponsor_pk)))
        return found

    def _track_keys(self, track_ids: set[Any]) -> dict[Any, str]:
        track_ids.discard(None)
        if not track_ids:
            return {}
        track = self.config.model("track")
        rows = track._default_manager.filter(pk__in=track_ids).values_list("pk", self._f("track", "key"))
        return dict(rows)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _answer_texts(given: Any) -> list[str]:
    """An identity answer as the texts it holds: ``"x"``, ``["x", "y"]`` or ``{"value": ...}``."""
    if isinstance(given, Mapping):
        given = given.get("value", given.get("values"))
    if isinstance(given, str):
        return [given.strip()] if given.strip() else []
    if isinstance(given, list | tuple):
        return [item.strip() for item in given if isinstance(item, str) and item.strip()]
    return []


def result_source() -> ResultSource:
    """The source ``PROFILER_RULES["RESULT_SOURCE"]`` names, on the app's settings."""
    return app_settings().dotted("RESULT_SOURCE")()


__all__ = ["Learner", "ResultSource", "result_source"]
