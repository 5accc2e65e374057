from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.service_list, name="list"),
    path("updates/", views.update_list, name="updates"),
]
