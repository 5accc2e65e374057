from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/close/", views.ticket_close_view, name="close"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
