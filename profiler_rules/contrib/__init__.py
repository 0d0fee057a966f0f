"""Integrations of profiler-rules with host frameworks; each is an optional extra."""
