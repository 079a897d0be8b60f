"""The refusals every service may raise, each with field, stable code and message."""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """A refusal by the domain; interfaces translate it (form error, HTTP 4xx, CLI line)."""

    http_status = 422

    def __init__(self, errors: list[FieldError] | FieldError | str, *, code: str = "invalid",
                 field: str = ""):
        if isinstance(errors, str):
            errors = [FieldError(field, code, errors)]
        elif isinstance(errors, FieldError):
            errors = [errors]
        self.errors: list[FieldError] = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in self.errors))

    def as_dict(self) -> dict:
        return {"errors": [e.as_dict() for e in self.errors]}


class ValidationFailed(DomainError):
    http_status = 422


@dataclass
class DuplicateInfo:
    model: str
    pk: int
    label: str = ""
    visible: bool = False
    extra: dict = field(default_factory=dict)


class Duplicate(DomainError):
    http_status = 409

    def __init__(self, errors, *, existing: DuplicateInfo | None = None, **kw):
        super().__init__(errors, **kw)
        self.existing = existing


class NotAllowed(DomainError):
    http_status = 403


class NotFound(DomainError):
    http_status = 404


class IllegalTransition(DomainError):
    http_status = 409


class Conflict(DomainError):
    http_status = 409
