import logging

from accounts.geo import request_country

from .services import visit_count

logger = logging.getLogger(__name__)
SKIPPED = ("admin:", "api_v2", "healthz", "stats:")


class PageVisitMiddleware:
    """R-PRV-2: count the pages people visit (URL name and country only), first-party."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            request.method == "GET"
            and response.status_code == 200
            and match is not None
            and match.view_name
            and not match.view_name.startswith(SKIPPED)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            try:
                visit_count(page=match.view_name, country=request_country(request))
            except Exception:  # statistics never break a page
                logger.exception("stats: a visit was not counted")
        return response
