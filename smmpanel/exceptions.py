from django.utils.functional import Promise


class DomainError(Exception):
    """An error a user can cause; its message is fit to show them.

    A subclass may name its default message with ``gettext_lazy`` in ``default_message``
    (shown in the customer's language); otherwise the docstring is the default."""

    default_message: str | Promise = ""

    def __init__(self, message: str = ""):
        default = str(self.default_message) or (self.__doc__ or "").strip()
        super().__init__(message or default or self.__class__.__name__)
        self.message = message or default
