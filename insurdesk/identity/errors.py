"""The one refusal the identity validators raise."""


class IdentityError(ValueError):
    """Refuse an identity value, with a stable English code and a Chinese message naming the rule."""

    def __init__(self, code: str, message: str, *, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        # Set by check_derived only: which typed field disagrees with the document.
        self.field = field

    def __repr__(self) -> str:
        return f"IdentityError({self.code!r}, {self.message!r})"
