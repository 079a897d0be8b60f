"""Reads about units and users."""

from insurdesk.org.models import ApiToken, OrgUnit


def root_unit() -> OrgUnit | None:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("id").first()


def unit_subtree_ids(unit: OrgUnit) -> list[int]:
    """Return the ids of a unit and every unit below it."""
    return list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True))


def unit_within(unit_id: int | None, ancestor_id: int) -> bool:
    """Tell whether a unit lies in the subtree of another (itself included)."""
    if unit_id is None:
        return False
    paths = dict(OrgUnit.objects.filter(pk__in={unit_id, ancestor_id}).values_list("id", "path"))
    return unit_id in paths and ancestor_id in paths and paths[unit_id].startswith(paths[ancestor_id])


def viewer_unit_ids(user) -> list[int] | None:
    """Return the unit ids a user may see, or None for the whole tree."""
    if user.is_superuser:
        return None
    if user.unit_id is None:
        return []
    return unit_subtree_ids(user.unit)


def unit_choices() -> list[tuple[int, str]]:
    return [(u.id, "　" * u.depth + u.name) for u in OrgUnit.objects.all()]


def api_tokens_of(user):
    """Return the user's API tokens, newest first (only prefixes: the tokens themselves are not kept)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def user_list(*, query: str = "", role: str = "", unit_id: int | None = None, locked: bool | None = None):
    """Return users for the administration list, by username or name prefix, role, unit and lock state."""
    from django.db.models import Count, Q

    from insurdesk.org.models import User

    qs = User.objects.select_related("unit").annotate(
        active_tokens=Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True))
    )
    q = (query or "").strip()
    if q:
        qs = qs.filter(
            Q(username__istartswith=q) | Q(last_name__startswith=q[:1], first_name__startswith=q[1:])
        )
    if role:
        qs = qs.filter(role=role)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if locked is not None:
        qs = qs.filter(is_active=not locked)
    return qs.order_by("unit__path", "username")


def unit_tree():
    """Return every unit in tree order with its user count."""
    from django.db.models import Count

    return OrgUnit.objects.annotate(n_users=Count("users")).select_related("parent").order_by("path")
