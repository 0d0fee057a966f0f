"""Write a large cohort of results as JSON Lines, for the analytics and batch benchmarks.

python bench/make_cohort.py RESULTS LEARNERS PATH
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

TRACKS = ("defender", "offensive", "innovation", "leadership", "grc")
STRENGTHS = ("analytical thinking", "problem solving", "curiosity", "attention to detail", "teamwork", "communication")


def write(path: Path, results: int, learners: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with path.open("w") as out:
        for index in range(results):
            # Every learner once first, then at random: a tenth of the results can hold all the learners.
            learner = index if index < learners else rng.randrange(learners)
            record = {
                "session_id": f"s-{index}",
                "user_id": f"u-{learner}",
                "status": "locked" if rng.random() < 0.9 else "in_progress",
                "completed_at": f"2026-02-{1 + index % 28:02d}T{index % 24:02d}:00:00Z",
                "scores": {
                    "overall": round(rng.uniform(0, 100), 2),
                    "aptitude": rng.choice([None, 0, round(rng.uniform(0, 100), 2)]),
                },
                "recommended_track": rng.choice(TRACKS),
                "strengths": rng.sample(STRENGTHS, 2),
                "cohort_id": f"c-{learner % 40}",
                "sponsor_id": "acme" if learner % 2 else "globex",
            }
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    write(Path(sys.argv[3]), int(sys.argv[1]), int(sys.argv[2]))
