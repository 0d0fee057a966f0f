"""Impact preview over a large JSONL file: time and peak memory, to show memory stays flat.

    python bench/diff_memory.py 1000000      # writes /tmp/diff-bench-1000000.jsonl once, then runs diff

The rule change moves the aptitude cutoff from 60 to 50, which changes many recipe decisions, so the
change counters are exercised, not just the reading.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_results(path: Path, count: int) -> None:
    rng = random.Random(5)
    with path.open("w") as out:
        for index in range(count):
            score = round(rng.uniform(0, 100), 2)
            record = {
                "session_id": f"s-{index}",
                "user_id": f"u-{index % 100_000}",
                "status": "locked",
                "difficulty_selection": rng.choice(["novice", "elite", "advanced", "intermediate"]),
                "aptitude_breakdown": {"networking": score, "web": round(100 - score, 2)},
                "technical_exposure_score": score,
            }
            out.write(json.dumps(record) + "\n")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    source = Path(tempfile.gettempdir()) / f"diff-bench-{count}.jsonl"
    if not source.exists():
        write_results(source, count)
    rules = Path(tempfile.mkdtemp()) / "rules"
    subprocess.run([sys.executable, "-m", "profiler_rules", "init", str(rules)], check=True, capture_output=True)
    recipes = rules / "recipes.yaml"
    recipes.write_text(
        recipes.read_text().replace(
            "  gap_cutoff: 60\n\ntechnical_exposure:", "  gap_cutoff: 50\n\ntechnical_exposure:"
        )
    )
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "profiler_rules", "diff", "--rules", str(rules), str(source), "--format", "json"],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads(run.stdout)
    changed = summary["engines"]["recipes"]["changed"]
    print(f"diff over {count:,} results: {elapsed:.1f} s, peak RSS {peak:.0f} MiB, recipes changed for {changed:,}")
    shutil.rmtree(rules.parent)


if __name__ == "__main__":
    main()
