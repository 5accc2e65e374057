"""The panel's URLs plus ``/bench/ping``: a trivial Django view (bench/api_add.py only)."""

from django.http import HttpResponse
from django.urls import path

from smmpanel.urls import urlpatterns as panel_urlpatterns


def ping(request):
    return HttpResponse(b"pong", content_type="text/plain")


urlpatterns = [path("bench/ping", ping), *panel_urlpatterns]
