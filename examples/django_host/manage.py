#!/usr/bin/env python
"""The example host's manage.py: a Django project with trimmed copies of the platform's models."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_host.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
