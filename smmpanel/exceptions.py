class DomainError(Exception):
    """An error a user can cause; its message is fit to show them."""

    def __init__(self, message: str = ""):
        super().__init__(message or self.__doc__ or self.__class__.__name__)
        self.message = message or (self.__doc__ or "").strip()
