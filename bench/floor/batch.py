"""The floor's batch: JSON Lines in, JSON Lines out, one process: read a line, ``json.loads``, the
floor's dispatch, ``json.dumps``, write. The benchmark compares ``profiler-rules dispatch X.jsonl
--output Y`` with this.

    cd bench && python -m floor.batch INPUT --output FILE [--catalogs FILE] [--viewer JSON] [--no-explain]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import dispatch, prepare_catalogs


def run(
    source: Path, target: Path, viewer: dict[str, Any] | None, catalogs: dict[str, Any] | None, explain: bool
) -> int:
    """Dispatch every line of ``source`` into ``target``, one compact report a line; how many."""
    prepared = prepare_catalogs(catalogs)
    loads, dumps = json.loads, json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    count = 0
    with source.open("rb") as lines, target.open("w", encoding="utf-8") as out:
        write = out.write
        for line in lines:
            if line.strip():
                write(dumps(dispatch(loads(line), viewer, prepared, explain=explain)) + "\n")
                count += 1
    return count


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--catalogs", type=Path)
    parser.add_argument("--viewer")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args(argv)
    catalogs = None if args.catalogs is None else json.loads(args.catalogs.read_text())
    viewer = None if args.viewer is None else json.loads(args.viewer)
    run(args.input, args.output, viewer, catalogs, not args.no_explain)


if __name__ == "__main__":
    main(sys.argv[1:])
