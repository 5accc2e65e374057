from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def new(request):
    # Placeholder until the issue that builds this app lands.
    return render(request, "placeholder.html", {"title": "New order"})


@login_required
def order_list(request):
    return render(request, "placeholder.html", {"title": "Orders"})
