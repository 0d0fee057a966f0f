"""The app's signals, for hosts that act on what the engines decided."""

from django.dispatch import Signal

decided = Signal()  # sender: session model; session_pk, learner, report
