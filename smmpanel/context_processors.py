from django.conf import settings


def panel(request):
    """What every page shows: the panel's name, contacts and support hours (R-LEG-3, R-SUP-3)."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "CONTACT_EMAILS": settings.CONTACT_EMAILS,
        "SUPPORT_HOURS": settings.SUPPORT_HOURS,
    }
