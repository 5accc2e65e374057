from django.urls import path

from legal import privacy_views

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("api/", views.api, name="api"),
    # R-PRV-3: Account → Privacy (legal.privacy_views)
    path("privacy/", privacy_views.privacy, name="privacy"),
    path("privacy/export/", privacy_views.export, name="privacy_export"),
    path("privacy/download/<str:token>/", privacy_views.download, name="privacy_download"),
    path("privacy/correction/", privacy_views.correction, name="privacy_correction"),
    path("privacy/delete/", privacy_views.delete, name="privacy_delete"),
    # --- notices on the dashboard (issue 14) ---
    path("notices/<int:notice_id>/read/", views.notice_read, name="notice_read"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("notices/mail/", views.notice_mail, name="notice_mail"),  # mail switches (issue 14)
]
