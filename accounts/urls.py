from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("api/", views.api, name="api"),
    # --- notices on the dashboard (issue 14) ---
    path("notices/<int:notice_id>/read/", views.notice_read, name="notice_read"),
    path("notices/read/", views.notices_read, name="notices_read"),
]
