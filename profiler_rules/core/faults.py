"""What plugin code may raise, and how the core reports it without failing in turn.

Plugin code runs inside the host: at import, at registration, in a schema, in a rules model's
validators, in ``evaluate``, ``aggregate`` and ``summarize``. Whatever it raises is that plugin's (or
engine's) error, reported by name, ``SystemExit`` and every other ``BaseException`` included: a
``sys.exit()`` in a plugin must not end the host, or a batch half-written.
"""

from __future__ import annotations

import logging

PASSED_THROUGH: tuple[type[BaseException], ...] = (KeyboardInterrupt, GeneratorExit)
"""What plugin code may raise that is not its fault: the user's Ctrl-C, and a generator being closed.
Catch plugin code's failures as ``except PASSED_THROUGH: raise`` then ``except BaseException``."""


def describe(error: BaseException) -> str:
    """What a plugin raised, as ``Type: message``; an exception whose message itself raises is named
    by its type alone, so that reporting a plugin's failure can not fail in turn."""
    try:
        message = str(error)
    except PASSED_THROUGH:
        raise
    except BaseException as failure:  # noqa: BLE001 - the plugin's exception is broken; its type still tells
        message = f"(its message raised {type(failure).__name__})"
    return f"{type(error).__name__}: {message}"


def log_failure(logger: logging.Logger, message: str, *args: object) -> None:
    """Log the plugin failure being handled, with its traceback; one that can not be written (an
    exception whose message raises) is logged without it rather than raising from the log call."""
    try:
        logger.exception(message, *args)
    except PASSED_THROUGH:
        raise
    except BaseException:  # noqa: BLE001 - logging must not fail the host; the failure itself is reported
        logger.error(f"{message} (its traceback could not be written)", *args)
