from django.utils.functional import SimpleLazyObject

from .selectors import balance_get


def balance(request):
    """The signed-in customer's balance split, for the navbar (queried only if shown)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"BALANCE": SimpleLazyObject(lambda: balance_get(user=user))}
