from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("new/", views.new, name="new"),
    path("", views.order_list, name="list"),
]
