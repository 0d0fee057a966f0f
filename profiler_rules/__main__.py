"""``python -m profiler_rules`` is the ``profiler-rules`` command."""

from profiler_rules.cli import main

raise SystemExit(main())
