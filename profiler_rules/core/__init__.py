"""The core, the engine room: hookspecs, plugin loading, strict YAML, rule sets, models, access and dispatch.

The tools built on it sit beside it in :mod:`profiler_rules` (``cli``, ``batch``, ``impact``,
``authoring``, ``pytest_plugin``): they import the core, and the core imports none of them.
Plugins import from :mod:`profiler_rules`, never from here.
"""
