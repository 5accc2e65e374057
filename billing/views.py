from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def add_funds(request):
    # Placeholder until the issue that builds this app lands.
    return render(request, "placeholder.html", {"title": "Add funds"})
