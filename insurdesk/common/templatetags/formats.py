"""Chinese conventions on pages, prints and PDFs: amounts, amounts in capitals, countries, dates.

    {% load formats %}
    {{ policy.sum_insured|money }}        500,000.00
    {{ policy.premium|rmb_capitals }}     人民币伍佰元整
    {{ customer.nationality|country }}    中国 (in English: China)
    {{ policy.issue_date|ymd }}           2026-12-08 ; {{ entry.at|ymd_hm }} 2026-12-08 14:05
"""

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext

from insurdesk.common.countries import country_name
from insurdesk.common.rmb import amount_in_capitals, figures

register = template.Library()


@register.filter
def money(value, places: int = 2) -> str:
    """Return an amount with thousands separators and two decimals; blank stays blank."""
    return figures(value, int(places))


@register.filter
def rmb_capitals(value) -> str:
    """Return an amount of yuan in capitals (人民币大写), as on policies, receipts and payments."""
    if value is None or value == "":
        return ""
    return amount_in_capitals(value)


@register.filter
def country(code) -> str:
    """Return a country or region by name from its GB/T 2659 code, in the page's language."""
    name = country_name(code)
    return gettext(name) if name else ""


@register.filter
def ymd(value) -> str:
    """Return a date (or the local date of a time) as YYYY-MM-DD."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(value, "Y-m-d")


@register.filter
def ymd_hm(value) -> str:
    """Return a time as YYYY-MM-DD HH:MM in 24 hours, local time."""
    if not value:
        return ""
    value = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(value, "Y-m-d H:i")
