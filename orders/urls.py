from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.new, name="new"),
    path("mass/", views.mass, name="mass"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:order_id>/", views.detail, name="detail"),
    path("<int:order_id>/cancel/", views.cancel, name="cancel"),
    # Refills (R-ORD-13) and subscriptions (R-ORD-11): issue 10.
    path("<int:order_id>/refill/", views.refill, name="refill"),
    path("refills/", views.refill_list, name="refills"),
    path("<int:order_id>/resume/", views.resume, name="resume"),
]
