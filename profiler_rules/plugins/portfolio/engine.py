"""The "My Value Statement" portfolio entry, built from the learner's profiler answers.

It follows the original (a ``reflection`` entry titled "My Value Statement", approved and private,
linked to the profiler session), with its defects fixed: the sentences are templates in the rules,
blank answers are left out, and a retake is a rule (``on_retake``) rather than a statement that is
never refreshed. The engine holds no state: ``idempotency_key`` and ``on_retake`` tell the host how to
apply the entry so that a learner keeps one.

The statement is built here and only here (:func:`build_value_statement`); the leadership engine reads
these rules through the core (``context.rules_of("portfolio")``) and calls their
:meth:`PortfolioRules.value_statement`, without importing this plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from string import Formatter
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from profiler_rules import Context, Engine, Explanation, Outcome, ProfilerResult, Rules, RuleViolation

_FROZEN = ConfigDict(frozen=True, extra="forbid")

TEXT_ANSWERS = ("why_cyber", "what_achieve")
"""The free-text answers that each give one sentence, in the order the statement uses them."""

STATEMENT_PLACEHOLDERS: Mapping[str, tuple[str, ...]] = {
    "why_cyber": ("answer",),
    "what_achieve": ("answer",),
    "identity_values": ("values",),
    "fallback": (),
}
"""The placeholders each statement template may use; anything else is a rule-file error."""

KEY_PLACEHOLDERS = ("user_id",)
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
"""A name as the platform writes it: lowercase letters, digits and _, starting with a letter."""
Text = Annotated[str, Field(min_length=1, pattern=r"\S")]
"""Text that is not blank."""


@dataclass(frozen=True, slots=True)
class Template:
    """A rule-file template parsed once at load: pieces of literal text, each followed by a placeholder
    name or ``None``, and the same template as a checked format string that renders it."""

    pieces: tuple[tuple[str, str | None], ...]
    format_string: str

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholder names the template uses."""
        return frozenset(name for _, name in self.pieces if name is not None)

    def render(self, values: Mapping[str, str]) -> str:
        # str.format_map fills in values without parsing them, so a learner's "{answer}" or "{" stays
        # literal text; it does in C what joining the pieces did in Python.
        return self.format_string.format_map(values)


def compile_template(text: str, allowed: tuple[str, ...]) -> Template:
    """Parse ``text`` with :class:`string.Formatter` and check that it uses only ``allowed`` placeholders,
    each written bare: no attribute or index access, no conversion, no format spec.

    :raises ValueError: naming the first bad placeholder and what the text may use instead.
    """
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as error:
        raise ValueError(f"{error}; write {{{{ or }}}} for a literal brace. {_allowed_hint(allowed)}") from None
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None:
            problem = _placeholder_problem(name, spec or "", conversion, allowed)
            if problem:
                raise ValueError(f"{problem}. {_allowed_hint(allowed)}")
        pieces.append((literal, name))
    return Template(tuple(pieces), _format_string(pieces))


def _format_string(pieces: list[tuple[str, str | None]]) -> str:
    """The pieces as a format string again, with only bare placeholders: literal braces doubled."""
    return "".join(
        literal.replace("{", "{{").replace("}", "}}") + ("" if name is None else "{" + name + "}")
        for literal, name in pieces
    )


def _placeholder_problem(name: str, spec: str, conversion: str | None, allowed: tuple[str, ...]) -> str | None:
    written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    if not name:
        return f"the placeholder {written} has no name"
    if "." in name or "[" in name:
        return f"the placeholder {written} reads an attribute or an index, which templates may not do"
    if name not in allowed:
        return f"unknown placeholder {written}"
    if conversion:
        return f"the placeholder {written} has a conversion (!{conversion}), which templates may not have"
    if spec:
        return f"the placeholder {written} has a format spec (:{spec}), which templates may not have"
    return None


def _allowed_hint(allowed: tuple[str, ...]) -> str:
    if not allowed:
        return "This text takes no placeholders."
    return "This text may use " + ", ".join("{" + name + "}" for name in allowed) + " only."


_SENTENCE_ENDS = (".", "!", "?", "…", "。", "！", "？")
_CLOSING = "\"'”’»)]"
_DANGLING = ",;: \t"


def end_sentence(text: str) -> str:
    """``text`` ending as a sentence, so the next one does not run on from it.

    Final punctuation of its own (``.``, ``!``, ``?``, ``…``, perhaps inside closing quotes or brackets)
    is kept; otherwise a dangling comma, semicolon or colon is dropped and a full stop ends it. A
    learner's answer usually ends the sentence, and learners rarely end theirs with a full stop.
    """
    if not text or text.rstrip(_CLOSING).endswith(_SENTENCE_ENDS):
        return text
    return text.rstrip(_DANGLING) + "."


def _compiled(text: str, allowed: tuple[str, ...]) -> Template:
    # Called from field validators, not the model's, so that every bad template of a rule file is
    # reported in the same run, each at its own line.
    try:
        return compile_template(text, allowed)
    except ValueError as error:
        raise RuleViolation(str(error)) from None


class StatementRules(BaseModel):
    """The templates the value statement is written from. Each answered question gives its sentence, in
    the order why_cyber, what_achieve, identity_values, joined with one space; a blank answer is left out.
    Each sentence ends with its own final punctuation (. ! ? …), or else with a full stop. Write {{ or }}
    for a literal brace."""

    model_config = _FROZEN

    why_cyber: Text = Field(
        description='The sentence for the answer to "Why cybersecurity?"; {answer} is the learner\'s answer, '
        "trimmed. No other placeholder is allowed.",
        examples=["I am drawn to cybersecurity because: {answer}"],
    )
    what_achieve: Text = Field(
        description='The sentence for the answer to "What do you want to achieve?"; {answer} is the learner\'s '
        "answer, trimmed. No other placeholder is allowed.",
        examples=["My goal is to: {answer}"],
    )
    identity_values: Text = Field(
        description="The sentence used when the learner chose at least one identity value; {values} is their "
        'values joined with ", ". No other placeholder is allowed.',
        examples=["My core values align with protecting and advancing cybersecurity.", "I value {values}."],
    )
    fallback: Text = Field(
        description="The whole statement when no answer gives a sentence. It takes no placeholders.",
        examples=["I am committed to advancing in cybersecurity."],
    )

    @field_validator(*STATEMENT_PLACEHOLDERS)
    @classmethod
    def _check(cls, text: str, info: ValidationInfo) -> str:
        # A field validator always knows its field; the field says which placeholders apply.
        _compiled(text, STATEMENT_PLACEHOLDERS[str(info.field_name)])
        return text

    @cached_property
    def templates(self) -> dict[str, Template]:
        """Each part's template, compiled once (the field validators have checked them)."""
        return {
            part: compile_template(getattr(self, part), allowed) for part, allowed in STATEMENT_PLACEHOLDERS.items()
        }

    def sentence(self, part: str, **values: str) -> str:
        """The sentence of ``part`` with its placeholders filled, trimmed so parts join with one space,
        and ending as a sentence (see :func:`end_sentence`)."""
        return end_sentence(self.templates[part].render(values).strip())

    @cached_property
    def fallback_sentence(self) -> str:
        """The fallback sentence: it has no placeholders, so it is rendered once."""
        return self.sentence("fallback")


class PortfolioRules(BaseModel):
    """The "My Value Statement" entry a learner's portfolio gets when they finish the profiler: its fixed
    fields, the key that keeps one entry per learner, what a retake does, and the templates the statement
    is written from."""

    # ``rules/portfolio.yaml``, built: the templates are checked and compiled at load. The docstrings and
    # descriptions are what editors show.
    model_config = ConfigDict(frozen=True, extra="forbid", title="Portfolio rules")

    item_type: Identifier = Field(
        description="The kind of portfolio entry the statement becomes, as the platform names it.",
        examples=["reflection"],
    )
    title: Text = Field(
        description="The entry's title, as the learner sees it in their portfolio.", examples=["My Value Statement"]
    )
    status: Identifier = Field(
        description='The entry\'s review status when it is created; "approved" needs no reviewer. The VIP '
        "Leadership Academy sees the same status.",
        examples=["approved", "pending"],
    )
    visibility: Identifier = Field(
        description="Who can see the entry when it is created (the learner may change it later). The VIP "
        "Leadership Academy sees the same visibility.",
        examples=["private"],
    )
    idempotency_key: str = Field(
        min_length=1,
        description="The key the host files the entry under, so that applying it twice keeps one entry per "
        "learner. It must contain {user_id}, the learner's id; no other placeholder is allowed.",
        examples=["value-statement:{user_id}"],
    )
    on_retake: Literal["replace", "keep"] = Field(
        description="What the host does with a learner's existing entry when they finish the profiler again: "
        '"replace" puts the new statement in its place, "keep" leaves the first one.',
        examples=["replace", "keep"],
    )
    statement: StatementRules

    @field_validator("idempotency_key")
    @classmethod
    def _check_key(cls, text: str) -> str:
        if "user_id" not in _compiled(text, KEY_PLACEHOLDERS).placeholders:
            raise RuleViolation("the key must contain {user_id}; without it every learner would share one entry")
        return text

    @cached_property
    def key_template(self) -> Template:
        return compile_template(self.idempotency_key, KEY_PLACEHOLDERS)

    @cached_property
    def field_explanations(self) -> tuple[tuple[str, str], ...]:
        """The entry's fixed fields, each as its rule path and the message that explains it. They depend
        on the rules only, so they are written once rather than for every result."""
        return (
            ("item_type", f"the value statement → a portfolio entry of type '{self.item_type}'"),
            ("title", f"the entry's title → '{self.title}'"),
            ("status", f"the entry is created → review status '{self.status}'"),
            ("visibility", f"the entry is created → visibility '{self.visibility}'"),
        )

    def key_for(self, user_id: str) -> str:
        """The learner's idempotency key: the same for every result of one learner."""
        return self.key_template.render({"user_id": user_id})

    def value_statement(
        self, result: ProfilerResult, rules: Rules[PortfolioRules], *, explain: bool = True
    ) -> ValueStatement:
        """The learner's value statement by these rules, explained from ``rules`` (the rules these
        settings are the ``settings`` of) unless ``explain`` is false. Other engines (leadership) reach it
        through ``context.rules_of("portfolio").settings``, never by importing this plugin."""
        return build_value_statement(result, rules, explain=explain)


@dataclass(frozen=True, slots=True)
class ValueStatement:
    """A learner's value statement and the explanations, citing the portfolio rules, of how it was built."""

    text: str
    explain: tuple[Explanation, ...]


_STATEMENT_RULES = {part: f"statement.{part}" for part in STATEMENT_PLACEHOLDERS}
"""Each statement part's rule path, built once: every statement cites them."""

_LEFT_OUT = {name: f"{name} is missing or blank → its sentence is left out" for name in TEXT_ANSWERS}
_NO_VALUES = "no identity values given → their sentence is left out"
_FALLBACK = "no answer gives a sentence → the fallback is the statement"


def build_value_statement(
    result: ProfilerResult, rules: Rules[PortfolioRules], *, explain: bool = True
) -> ValueStatement:
    """Build the value statement from ``result.answers`` with the portfolio rules.

    Each answered question gives its sentence, in the order why_cyber, what_achieve, identity_values;
    answers are trimmed and blank ones count as absent. With no sentence, the fallback is the statement.
    ``explain=False`` builds the text alone, without explanations (see ``Context.explain``).
    """
    statement = rules.settings.statement
    answers = result.answers
    parts: list[str] = []
    explained: list[Explanation] = []
    for name in TEXT_ANSWERS:
        answer = getattr(answers, name)
        answer = answer.strip() if answer else ""
        if answer:
            parts.append(statement.sentence(name, answer=answer))
            if explain:
                message = f"{name} is answered → sentence {len(parts)} of the statement"
                explained.append(rules.explain(_STATEMENT_RULES[name], message))
        elif explain:
            explained.append(rules.explain(_STATEMENT_RULES[name], _LEFT_OUT[name]))
    values = [value for value in map(str.strip, answers.identity_values) if value]
    if values:
        joined = ", ".join(values)
        parts.append(statement.sentence("identity_values", values=joined))
        if explain:
            message = f"{len(values)} identity value(s) given ({joined}) → sentence {len(parts)} of the statement"
            explained.append(rules.explain(_STATEMENT_RULES["identity_values"], message))
    elif explain:
        explained.append(rules.explain(_STATEMENT_RULES["identity_values"], _NO_VALUES))
    if not parts:
        parts.append(statement.fallback_sentence)
        if explain:
            explained.append(rules.explain(_STATEMENT_RULES["fallback"], _FALLBACK))
    return ValueStatement(" ".join(parts), tuple(explained))


class PortfolioEntry(BaseModel):
    """The portfolio engine's answer: the entry for the host to create, or to apply as ``on_retake`` says."""

    model_config = ConfigDict(frozen=True)

    item_type: str
    title: str
    summary: str
    status: str
    visibility: str
    profiler_session_id: str
    user_id: str
    idempotency_key: str
    on_retake: Literal["replace", "keep"]


class PortfolioEngine(Engine):
    """Writes the learner's "My Value Statement" portfolio entry from their profiler answers."""

    name = "portfolio"
    report_order = 30  # built-ins: missions 10, recipes 20, portfolio 30, leadership 40, ... analytics 70
    settings_model = PortfolioRules
    default_rules_file = files("profiler_rules").joinpath("rules", "portfolio.yaml")

    def summarize(self, output: PortfolioEntry) -> str:
        return f"'{output.title}' entry {output.idempotency_key} ({output.on_retake} on a retake)"

    def evaluate(self, result: ProfilerResult, rules: Rules[PortfolioRules], context: Context) -> Outcome:
        settings = rules.settings
        statement = build_value_statement(result, rules, explain=context.explain)
        user_id = result.user_id
        key = settings.key_for(user_id)
        # The compiled validator, without Model(...)'s or model_validate's Python wrapper (a microsecond per
        # result); looked up here, not at import, so that a model built on first use stays so.
        entry = PortfolioEntry.__pydantic_validator__.validate_python(
            {
                "item_type": settings.item_type,
                "title": settings.title,
                "summary": statement.text,
                "status": settings.status,
                "visibility": settings.visibility,
                "profiler_session_id": result.session_id,
                "user_id": user_id,
                "idempotency_key": key,
                "on_retake": settings.on_retake,
            }
        )
        if not context.explain:
            return Outcome(entry)
        return Outcome(entry, (*statement.explain, *self._fields(rules, user_id, key), self._retake(rules, key)))

    @staticmethod
    def _fields(rules: Rules[PortfolioRules], user_id: str, key: str) -> list[Explanation]:
        """The entry's fixed fields and its key, each at its own line."""
        explain = [rules.explain(rule, message) for rule, message in rules.settings.field_explanations]
        message = f"learner '{user_id}' → the entry is filed under the key '{key}', one entry per learner"
        explain.append(rules.explain("idempotency_key", message))
        return explain

    @staticmethod
    def _retake(rules: Rules[PortfolioRules], key: str) -> Explanation:
        if rules.settings.on_retake == "replace":
            message = f"on a retake the host replaces the learner's entry '{key}' with this one"
        else:
            message = f"on a retake the host keeps the learner's existing entry '{key}' and drops this one"
        return rules.explain("on_retake", message)
