from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .forms import ServiceFilterForm
from .selectors import categories_with_enabled_services, service_updates_recent, services_for_user

UPDATES_PER_PAGE = 50


@require_GET
def service_list(request):
    """The public services page: visitors see base rates, customers their own (R-CAT-6)."""
    categories = categories_with_enabled_services()
    form = ServiceFilterForm(request.GET or None, categories=categories)
    services = services_for_user(user=request.user, filters=form.filters())
    return render(
        request,
        "catalog/service_list.html",
        {"form": form, "services": services, "filtered": bool(request.GET)},
    )


@require_GET
def update_list(request):
    """The public Updates page: services added, repriced, disabled or enabled."""
    page = Paginator(service_updates_recent(), UPDATES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "catalog/update_list.html", {"page": page})
