"""The seed's routes. Include them under the prefix the platform serves its API from::

    path("api/v1/", include("profiler_rules.contrib.django.urls"))

which gives ``/api/v1/student/missions``, ``/api/v1/recipes/profiler-recommendations`` and the rest.
Reverse them by name: ``reverse("profiler_rules:student-missions")``.
"""

from django.urls import path

from . import views

app_name = "profiler_rules"

urlpatterns = [
    path("student/missions", views.student_missions, name="student-missions"),
    path("recipes/profiler-recommendations", views.recipe_recommendations, name="recipe-recommendations"),
    path("profiler/value-statement", views.value_statement, name="value-statement"),
    path("profiler/mentees/<int:mentee_id>/results", views.mentee_results, name="mentee-results"),
    path("profiler/admin/cohorts/<uuid:cohort_id>/analytics", views.cohort_analytics, name="cohort-analytics"),
    path("profiler/admin/enterprise/analytics", views.enterprise_analytics, name="enterprise-analytics"),
    path("marketplace/talent-matches/profiler", views.talent_matches, name="talent-matches"),
]
