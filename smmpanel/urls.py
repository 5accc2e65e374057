from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from orders.api import views as api_views

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),  # pages without base.html (admin)
    path("api/v2", api_views.api_v2, name="api_v2"),
    path("api/v2/openapi.json", api_views.openapi, name="api_v2_openapi"),
    path("admin/", admin.site.urls),
    # the language switcher (issue 14): Django's set_language, and the customer's choice kept
    path("i18n/setlang/", accounts_views.language_set, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("legal/", include("legal.urls")),
    path("billing/", include("billing.urls")),
    path("services/", include("catalog.urls")),
    path("orders/", include("orders.urls")),
    path("tickets/", include("support.urls")),
    # --- support (issue 11): the staff desk and the public abuse form ---
    path("desk/", include("support.urls_desk")),
    path("abuse/", include("support.urls_abuse")),
    # issue 13: the operator dashboard (stats app)
    path("staff/", include("stats.urls")),
]
