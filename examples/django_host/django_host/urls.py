"""The example host's URLs: the app's routes under the platform's API prefix, and Django's admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("profiler_rules.contrib.django.urls")),
]
