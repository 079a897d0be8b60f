"""Claims (理赔): a claimant's request against a policy, its amount and where it stands.

The state machine is small and explicit (TRANSITIONS); services move a claim only along it.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from insurdesk.customers.models import Customer
from insurdesk.org.models import User
from insurdesk.policies.models import Policy


class ClaimState(models.TextChoices):
    REPORTED = "reported", "已报案"
    REVIEWING = "reviewing", "审核中"
    APPROVED = "approved", "审核通过"
    PAID = "paid", "已赔付"
    REJECTED = "rejected", "已拒赔"
    WITHDRAWN = "withdrawn", "已撤销"


# state -> the states one step away; paid, rejected and withdrawn are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimState.REPORTED: frozenset({ClaimState.REVIEWING, ClaimState.WITHDRAWN}),
    ClaimState.REVIEWING: frozenset({ClaimState.APPROVED, ClaimState.REJECTED, ClaimState.WITHDRAWN}),
    ClaimState.APPROVED: frozenset({ClaimState.PAID}),
    ClaimState.PAID: frozenset(),
    ClaimState.REJECTED: frozenset(),
    ClaimState.WITHDRAWN: frozenset(),
}


def reachable(state: str) -> set[str]:
    """Return the states a claim in `state` can reach through one or more legal steps."""
    out: set[str] = set()
    todo = list(TRANSITIONS.get(state, ()))
    while todo:
        nxt = todo.pop()
        if nxt not in out:
            out.add(nxt)
            todo.extend(TRANSITIONS.get(nxt, ()))
    return out


class Claim(models.Model):
    claim_no = models.CharField("赔案号", max_length=20, unique=True)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="claims", verbose_name="保单")
    claimant = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="claims", verbose_name="申请人"
    )
    reported_on = models.DateField("理赔申请日期")
    amount_claimed = models.DecimalField("理赔金额（元）", max_digits=14, decimal_places=2)
    amount_paid = models.DecimalField(
        "赔付金额（元）", max_digits=14, decimal_places=2, null=True, blank=True
    )
    state = models.CharField(
        "理赔状态", max_length=10, choices=ClaimState.choices, default=ClaimState.REPORTED
    )
    state_changed_at = models.DateTimeField("进入当前状态时间")
    description = models.CharField("出险经过", max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    # History is read by claim (`id`); the copied fields' lookup indexes are not made (see Customer).
    history = HistoricalRecords(
        excluded_fields=["updated_at"], no_db_index=["claim_no", "policy", "claimant", "created_by"]
    )

    class Meta:
        verbose_name = "理赔"
        verbose_name_plural = "理赔"
        ordering = ["-reported_on", "-id"]
        indexes = [
            models.Index(fields=["policy", "reported_on"]),
            models.Index(fields=["claimant", "reported_on"]),
            models.Index(fields=["state", "reported_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_claimed__gte=0), name="claim_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"赔案 {self.claim_no}"
