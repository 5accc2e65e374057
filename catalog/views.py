from django.shortcuts import render


def index(request):
    # Placeholder until the issue that builds this app lands.
    return render(request, "placeholder.html", {"title": "Services"})
