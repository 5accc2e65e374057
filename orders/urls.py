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
]
