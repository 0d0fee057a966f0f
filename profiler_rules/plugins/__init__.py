"""The built-in engine plugins. Each uses only the public surface of :mod:`profiler_rules`."""
