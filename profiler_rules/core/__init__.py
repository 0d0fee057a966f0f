"""The core: hookspecs, plugin discovery, strict rule loading, models, the dispatcher and the CLI.

Plugins import from :mod:`profiler_rules`, never from here.
"""
