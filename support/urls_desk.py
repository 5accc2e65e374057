from django.urls import path

from . import desk

app_name = "desk"

urlpatterns = [
    path("", desk.queue, name="queue"),
    path("tickets/<int:ticket_id>/", desk.ticket, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", desk.reply, name="reply"),
    path("tickets/<int:ticket_id>/assign/", desk.assign, name="assign"),
    path("tickets/<int:ticket_id>/close/", desk.close, name="close"),
    path(
        "tickets/<int:ticket_id>/orders/<int:order_id>/<slug:action>/",
        desk.order_action,
        name="order_action",
    ),
    path("abuse/", desk.abuse_list, name="abuse"),
    path("abuse/<int:report_id>/", desk.abuse_detail, name="abuse_detail"),
]
