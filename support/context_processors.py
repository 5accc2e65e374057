from django.utils.functional import SimpleLazyObject

from support.selectors import ticket_notices_unread_count


def unread(request):
    """``SUPPORT_UNREAD``: the customer's unread notices of staff replies (counted when shown)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"SUPPORT_UNREAD": SimpleLazyObject(lambda: ticket_notices_unread_count(user=user))}
