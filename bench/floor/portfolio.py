"""The floor's portfolio engine (portfolio.yaml): the learner's value statement as a portfolio entry.
The statement itself is built here for the leadership engine too, which reads portfolio's rules."""

from __future__ import annotations

from typing import Any

from .common import Answer, Explanation, Facts, RuleFile, ok, said, skipped, status_reason

NAME = "portfolio"
RULES = RuleFile("portfolio")
ITEM_TYPE = "reflection"
TITLE = "My Value Statement"
ENTRY_STATUS = "approved"
VISIBILITY = "private"
KEY_PREFIX = "value-statement:"  # idempotency_key "value-statement:{user_id}"
ON_RETAKE = "replace"
WHY_TEMPLATE = "I am drawn to cybersecurity because: "  # + {answer}
WHAT_TEMPLATE = "My goal is to: "  # + {answer}
VALUES_SENTENCE = "My core values align with protecting and advancing cybersecurity."
FALLBACK_SENTENCE = "I am committed to advancing in cybersecurity."
WHY_CITED = RULES.cite("statement.why_cyber")
WHAT_CITED = RULES.cite("statement.what_achieve")
VALUES_CITED = RULES.cite("statement.identity_values")
WHY_MISSING = RULES.said("statement.why_cyber", "why_cyber is missing or blank → its sentence is left out")
WHAT_MISSING = RULES.said("statement.what_achieve", "what_achieve is missing or blank → its sentence is left out")
VALUES_MISSING = RULES.said("statement.identity_values", "no identity values given → their sentence is left out")
FALLBACK_SAID = RULES.said("statement.fallback", "no answer gives a sentence → the fallback is the statement")
FIELDS_SAID = (
    RULES.said("item_type", f"the value statement → a portfolio entry of type '{ITEM_TYPE}'"),
    RULES.said("title", f"the entry's title → '{TITLE}'"),
    RULES.said("status", f"the entry is created → review status '{ENTRY_STATUS}'"),
    RULES.said("visibility", f"the entry is created → visibility '{VISIBILITY}'"),
)
KEY_CITED = RULES.cite("idempotency_key")
RETAKE_CITED = RULES.cite("on_retake")
_SKIP_REASON = "portfolio acts only on finished or locked results"


def _end_sentence(text: str) -> str:
    """A sentence keeps its own final punctuation, or ends with a full stop (a dangling , ; : dropped)."""
    if text.rstrip("\"'”’»)]").endswith((".", "!", "?", "…", "。", "！", "？")):
        return text
    return text.rstrip(",;: \t") + "."


def statement(answers: dict[str, Any], explain: bool) -> tuple[str, list[Explanation]]:
    """The value statement from the answers, and its explanations (portfolio's rules) when asked."""
    parts = []
    reasons: list[Explanation] = []
    answer = (answers.get("why_cyber") or "").strip()
    if answer:
        parts.append(_end_sentence(f"{WHY_TEMPLATE}{answer}".strip()))
        if explain:
            reasons.append(said(WHY_CITED, f"why_cyber is answered → sentence {len(parts)} of the statement"))
    elif explain:
        reasons.append(WHY_MISSING)
    answer = (answers.get("what_achieve") or "").strip()
    if answer:
        parts.append(_end_sentence(f"{WHAT_TEMPLATE}{answer}".strip()))
        if explain:
            reasons.append(said(WHAT_CITED, f"what_achieve is answered → sentence {len(parts)} of the statement"))
    elif explain:
        reasons.append(WHAT_MISSING)
    values = [value for value in (raw.strip() for raw in answers.get("identity_values") or ()) if value]
    if values:
        parts.append(VALUES_SENTENCE)  # the template uses no {values}
        if explain:
            joined = ", ".join(values)
            reasons.append(
                said(
                    VALUES_CITED,
                    f"{len(values)} identity value(s) given ({joined}) → sentence {len(parts)} of the statement",
                )
            )
    elif explain:
        reasons.append(VALUES_MISSING)
    if not parts:
        parts.append(FALLBACK_SENTENCE)
        if explain:
            reasons.append(FALLBACK_SAID)
    return " ".join(parts), reasons


def evaluate(facts: Facts, viewer: dict[str, Any] | None, catalogs: dict[str, Any], explain: bool) -> Answer:
    """The value statement as a portfolio entry; skipped for a result that is not complete."""
    if not facts.complete:
        return skipped(status_reason(facts.status, _SKIP_REASON))
    text, reasons = statement(facts.answers, explain)
    user_id = facts.user_id
    key = KEY_PREFIX + user_id
    if explain:
        reasons.extend(FIELDS_SAID)
        reasons.append(
            said(KEY_CITED, f"learner '{user_id}' → the entry is filed under the key '{key}', one entry per learner")
        )
        reasons.append(said(RETAKE_CITED, f"on a retake the host replaces the learner's entry '{key}' with this one"))
    output = {
        "item_type": ITEM_TYPE,
        "title": TITLE,
        "summary": text,
        "status": ENTRY_STATUS,
        "visibility": VISIBILITY,
        "profiler_session_id": facts.session_id,
        "user_id": user_id,
        "idempotency_key": key,
        "on_retake": ON_RETAKE,
    }
    return ok(output, reasons, [])
