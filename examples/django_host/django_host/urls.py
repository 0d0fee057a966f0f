"""The example host's URLs: the app's routes under the platform's API prefix, its only URL glue."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("profiler_rules.contrib.django.urls")),
]
