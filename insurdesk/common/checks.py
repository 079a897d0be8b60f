"""Small field checks shared by services that clean their input by hand (claims, contacts)."""

from __future__ import annotations

from datetime import date

from insurdesk.common.errors import FieldError


def past_date(
    data: dict, name: str, label: str, *, today: date, clean: dict, errors: list[FieldError]
) -> None:
    """Check a required day that cannot be in the future; put it in `clean` or a refusal in `errors`."""
    day = data.get(name)
    if not isinstance(day, date):
        errors.append(FieldError(name, "required", f"请填写{label}"))
    elif day > today:
        errors.append(FieldError(name, "future", f"{label}不能晚于今天"))
    else:
        clean[name] = day
