"""The options commands share, written once: a plugin's command (see ``profiler_rules_register_commands``)
adds them with these functions, so that ``--rules`` or ``--viewer`` mean the same in every command.

Imports argparse alone: a plugin's command module imports this while ``--help`` runs.
"""

from __future__ import annotations

import argparse


def rules_option(parser: argparse.ArgumentParser) -> None:
    """``--rules DIR``: the rules directory (``args.rules``; ``None`` for the packaged rules)."""
    parser.add_argument("--rules", metavar="DIR", help="rules directory (default: the packaged rules)")


def strict_option(parser: argparse.ArgumentParser, what: str = "a plugin that fails to load") -> None:
    """``--strict``: ``what`` fails the command (exit 1), for CI (``args.strict``)."""
    parser.add_argument("--strict", action="store_true", help=f"treat {what} as a failure (exit 1), for CI")


def format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    """``--format``: one of ``choices``, ``text`` by default (``args.format``)."""
    parser.add_argument("--format", choices=choices, default="text", help="output format (default: text)")


def input_argument(parser: argparse.ArgumentParser, text: str) -> None:
    """``INPUT``, optional so that ``--example`` can stand in for it (``args.input``)."""
    parser.add_argument("input", nargs="?", metavar="INPUT", help=text)


def catalogs_option(parser: argparse.ArgumentParser) -> None:
    """``--catalogs FILE``: the catalogs as one JSON file (``args.catalogs``)."""
    parser.add_argument(
        "--catalogs", metavar="FILE", help='a JSON file: {"missions": [...], "recipes": [...], "jobs": [...]}'
    )


def viewer_option(parser: argparse.ArgumentParser) -> None:
    """``--viewer JSON``: who is asking, as JSON text or a JSON file (``args.viewer``)."""
    parser.add_argument("--viewer", metavar="JSON", help="who is asking: JSON text, or a JSON file")


def example_option(parser: argparse.ArgumentParser, text: str) -> None:
    """``--example``: run on the bundled example instead of INPUT (``args.example``)."""
    parser.add_argument("--example", action="store_true", help=text)
