"""``python -m profiler_rules`` is the ``profiler-rules`` command."""

from profiler_rules.core.cli import main

raise SystemExit(main())
