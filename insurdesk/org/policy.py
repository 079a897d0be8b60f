"""The declared access policy: which role may do which action, and which page or endpoint needs which.

Scope rules (SPEC §Roles): a user sees its unit's subtree; an agent only the customers it owns;
a superuser acts as admin over the whole tree. Selectors apply scope; outside it a record answers 404.

Every URL of the site is declared below in PAGES (by URL name) or API (by "METHOD /path"). The access
middleware and the API's token check enforce the declared action; tests/test_access_policy.py walks
every URL and API operation, fails on any that is not declared, and checks each role against it.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from insurdesk.common.errors import FieldError, NotAllowed
from insurdesk.org.models import Role

ALL_ROLES = frozenset(Role.values)

# action -> roles allowed
POLICY: dict[str, frozenset[str]] = {
    "customer.view": ALL_ROLES,
    "customer.create": frozenset({"clerk", "reviewer", "agent", "service", "cs", "admin"}),
    "customer.change": frozenset({"clerk", "reviewer", "agent", "service", "compliance", "admin"}),
    "customer.change_aml": frozenset({"compliance", "admin"}),
    # Identity numbers, phones, accounts unmasked. Customer service and agents see masks (issue 2).
    "customer.see_sensitive": frozenset({"clerk", "reviewer", "underwriter", "service", "claims",
                                         "compliance", "admin"}),
    # Showing one masked value in full, with a reason, logged (docs/security.md): the roles that see
    # masks but call, visit or supervise the customer. Roles with customer.see_sensitive see it anyway.
    "customer.reveal": frozenset({"cs", "agent", "manager"}),
    "customer.override_uscc": frozenset({"reviewer", "compliance", "admin"}),
    # Everyone who may open an archive sees its history; sensitive values in it are masked per role.
    "customer.history": ALL_ROLES,
    "org.manage": frozenset({"admin"}),
    "audit.view": frozenset({"compliance", "admin"}),
    # New business (issue 3): products and applications; see docs/design/new-business.md.
    "product.view": ALL_ROLES,
    "product.manage": frozenset({"admin"}),
    "application.view": ALL_ROLES,
    "application.create": frozenset({"clerk", "admin"}),
    "application.change": frozenset({"clerk", "admin"}),
    "application.second_entry": frozenset({"clerk", "reviewer", "admin"}),
    "application.resolve": frozenset({"reviewer", "admin"}),
    "application.problem_raise": frozenset({"clerk", "reviewer", "underwriter", "admin"}),
    "application.problem_handle": frozenset({"clerk", "reviewer", "admin"}),
    "application.queue_underwriting": frozenset({"underwriter", "manager", "admin"}),
    "application.submit": frozenset({"clerk", "reviewer", "admin"}),
    "application.withdraw": frozenset({"clerk", "reviewer", "admin"}),
    "application.recording_attach": frozenset({"clerk", "reviewer", "agent", "admin"}),
    "application.recording_check": frozenset({"reviewer", "compliance", "admin"}),
    "application.stats": frozenset({"reviewer", "manager", "compliance", "admin"}),
    "application.recording_view": frozenset({"clerk", "reviewer", "underwriter", "compliance", "admin"}),
    # Underwriting, policies and premiums (issue 3); see docs/design/underwriting-policies.md.
    "underwriting.view": frozenset({"underwriter", "reviewer", "manager", "compliance", "admin"}),
    "underwriting.decide": frozenset({"underwriter", "admin"}),
    "policy.view": ALL_ROLES,
    "policy.issue": frozenset({"clerk", "underwriter", "admin"}),
    "policy.receipt": frozenset({"clerk", "service", "admin"}),
    "policy.cancel": frozenset({"service", "admin"}),
    "policy.members": frozenset({"clerk", "service", "admin"}),
    "payment.view": ALL_ROLES,
    "payment.record": frozenset({"clerk", "service", "admin"}),
    # Compliance, AML and PIPL (issue 5); see docs/design/compliance.md.
    "audit.export": frozenset({"compliance", "admin"}),
    "compliance.view": frozenset({"compliance", "admin"}),
    "compliance.manage": frozenset({"compliance", "admin"}),
    # Separate consents (PIPL Art. 29) are taken by the clerks and customer service who meet the customer.
    "consent.view": frozenset({"clerk", "cs", "compliance", "admin"}),
    "consent.manage": frozenset({"clerk", "cs", "compliance", "admin"}),
    # Retention and destruction (issue 5); see docs/design/lifecycle.md. The requester never approves.
    "lifecycle.view": frozenset({"manager", "compliance", "admin"}),
    "lifecycle.request": frozenset({"manager", "compliance", "admin"}),
    "lifecycle.approve": frozenset({"compliance", "admin"}),
    # Bulk import and export (issue 4); see docs/design/exchange.md. Exports are masked per role.
    "exchange.import": frozenset({"clerk", "reviewer", "admin"}),
    "exchange.export": frozenset({"clerk", "reviewer", "service", "compliance", "manager", "admin"}),
    # A customer's whole file as one download, for a personal-information access request (PIPL Art. 45).
    "customer.export_file": frozenset({"service", "compliance", "admin"}),
    # Legacy policies and their past payments from an office's archive table (存量保单迁移, issue 4):
    # registered, not issued, so the roles that import, not those that issue.
    "policy.import": frozenset({"clerk", "reviewer", "admin"}),
    # Claims (理赔) and the contact log (沟通记录): minimal apps for the archive table (issue 4).
    "claim.view": ALL_ROLES,
    "claim.create": frozenset({"clerk", "reviewer", "claims", "cs", "admin"}),
    "claim.change": frozenset({"claims", "admin"}),
    # Claim handling from report to close (issue 17); see docs/design/claims.md. Customer service takes
    # reports on the phone; the second approver of a large amount is never the decider (a service rule).
    "claim.report": frozenset({"claims", "cs", "admin"}),
    "claim.handle": frozenset({"claims", "admin"}),
    "claim.approve": frozenset({"claims", "admin"}),
    "contact.view": ALL_ROLES,
    "contact.create": frozenset({"clerk", "reviewer", "agent", "service", "claims", "cs", "manager",
                                 "admin"}),
    "contact.change": frozenset({"clerk", "reviewer", "agent", "service", "cs", "admin"}),
    # Webhooks (issue 21): other systems' receivers of domain events; their secrets sign every body.
    "webhook.manage": frozenset({"admin"}),
    # Servicing (保全, issue 17); see docs/design/servicing.md. The requester never approves, and a
    # request that moves money needs a second approver besides the first (services check both).
    "servicing.view": ALL_ROLES,
    "servicing.request": frozenset({"clerk", "service", "agent", "cs", "admin"}),
    "servicing.approve": frozenset({"service", "manager", "admin"}),
    "servicing.underwrite": frozenset({"underwriter", "admin"}),
}

# Roles whose scope is only the customers they own, not their unit's subtree.
OWN_CUSTOMERS_ONLY = frozenset({"agent"})


def role_of(user) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return user.effective_role


def can(user, action: str) -> bool:
    """Tell whether the user's role allows the action (scope is checked separately)."""
    role = role_of(user)
    if role is None:
        return False
    return role in POLICY.get(action, frozenset())


def require(actor, action: str, message: str = "您的角色无权执行此操作") -> None:
    """Refuse a service call the actor's role may not make; actor None is the system (imports, jobs)."""
    if actor is not None and not can(actor, action):
        raise NotAllowed(FieldError("", "forbidden", message))


# ---------------------------------------------------------------- routes: every page and endpoint


class Scope(StrEnum):
    """Which records a route reaches, and so how the access test builds its URL."""

    PUBLIC = "public"  # no sign-in: the login page, the language switch, the API schema
    SELF = "self"  # any signed-in user, about itself: start page, logout, second factor, own tokens
    LIST = "list"  # no record in the URL: lists, searches, exports and new-record forms cut to scope
    ALL = "all"  # shared reference data with no unit scope (product catalogue, admin site)
    CUSTOMER = "customer"  # one archive in the URL: the unit subtree, an agent only its own customers
    TOKEN = "token"  # one of the user's own API tokens in the URL
    APPLICATION = "application"  # one application (投保单) in the URL: unit subtree, an agent only its own
    POLICY = "policy"  # one policy (保单) in the URL: unit subtree, an agent only the policies it sold
    # One compliance record in the URL, scoped through its customer (see insurdesk/compliance/testing.py).
    TASK = "task"  # a rectification task (整改)
    FLAG = "flag"  # a transaction flag (大额/可疑交易)
    CONSENT = "consent"  # a consent record
    PI_REQUEST = "pi_request"  # a personal-information request
    IMPORT_RUN = "import_run"  # one import run (导入批次): the user's own; an admin sees all
    WEBHOOK = "webhook"  # one webhook subscription: not scoped to a unit (admin only)
    SERVICING = "servicing"  # one servicing request (保全申请): scoped through its policy
    CLAIM = "claim"  # one claim (赔案) in the URL: the scope of its policy
    USER = "user"  # one user account (administration): the whole company, administrators only
    UNIT = "unit"  # one org unit (administration): the whole tree, administrators only


@dataclass(frozen=True)
class Access:
    """What a route needs: a POLICY action (None: none beyond signing in) and the scope it reaches."""

    action: str | None
    scope: Scope
    # False only on the pages that sign in, sign out and verify the second factor themselves.
    second_factor: bool = True


# Roles that must sign in with a TOTP second factor (issue 5); others may enrol one.
SECOND_FACTOR_ROLES = frozenset({"admin", "compliance"})

# The NinjaAPI's urls_namespace: its operations are declared in API, not PAGES.
API_NAMESPACE = "api"

# URL name ("namespace:name") -> access. "namespace:*" covers a third-party namespace as a whole.
PAGES: dict[str, Access] = {
    "login": Access(None, Scope.PUBLIC),
    "set_language": Access(None, Scope.PUBLIC),
    "logout": Access(None, Scope.SELF, second_factor=False),
    "home": Access(None, Scope.SELF),
    "account": Access(None, Scope.SELF),
    "account_password": Access(None, Scope.SELF),
    "otp_setup": Access(None, Scope.SELF, second_factor=False),
    "otp_verify": Access(None, Scope.SELF, second_factor=False),
    "api_token_create": Access(None, Scope.SELF),
    "api_token_revoke": Access(None, Scope.TOKEN),
    # Administration (系统, issue 16): users and org units; the services check org.manage again.
    "system:users": Access("org.manage", Scope.LIST),
    "system:user_create": Access("org.manage", Scope.LIST),
    "system:user_detail": Access("org.manage", Scope.USER),
    "system:user_action": Access("org.manage", Scope.USER),
    "system:units": Access("org.manage", Scope.ALL),
    "system:unit_detail": Access("org.manage", Scope.UNIT),
    "customers:list": Access("customer.view", Scope.LIST),
    "customers:create_individual": Access("customer.create", Scope.LIST),
    "customers:create_corporate": Access("customer.create", Scope.LIST),
    "customers:detail": Access("customer.view", Scope.CUSTOMER),
    "customers:edit": Access("customer.change", Scope.CUSTOMER),
    "customers:relation_add": Access("customer.change", Scope.CUSTOMER),
    "customers:relation_remove": Access("customer.change", Scope.CUSTOMER),
    "customers:reveal": Access("customer.reveal", Scope.CUSTOMER),
    # The API's schema and Swagger page hold no data; its operations are in API below.
    "api:api-root": Access(None, Scope.PUBLIC),
    "api:openapi-json": Access(None, Scope.PUBLIC),
    "api:openapi-view": Access(None, Scope.PUBLIC),
    # Django's admin keeps its own staff check behind this one (read-only for business data).
    "admin:*": Access("org.manage", Scope.ALL),
    # New business (issue 3): the product catalogue and applications.
    "products:list": Access("product.view", Scope.LIST),
    "products:create": Access("product.manage", Scope.LIST),
    "products:detail": Access("product.view", Scope.ALL),
    "products:edit": Access("product.manage", Scope.ALL),
    "applications:list": Access("application.view", Scope.LIST),
    "applications:queues": Access("application.view", Scope.LIST),
    "applications:create": Access("application.create", Scope.LIST),
    "applications:lookup": Access("application.create", Scope.LIST),
    "applications:problems": Access("application.view", Scope.LIST),
    "applications:entry_errors": Access("application.stats", Scope.LIST),
    "applications:detail": Access("application.view", Scope.APPLICATION),
    "applications:edit": Access("application.change", Scope.APPLICATION),
    "applications:second_entry": Access("application.second_entry", Scope.APPLICATION),
    "applications:problem_raise": Access("application.problem_raise", Scope.APPLICATION),
    "applications:problem_resolve": Access("application.resolve", Scope.APPLICATION),
    "applications:problem_assign": Access("application.problem_handle", Scope.APPLICATION),
    "applications:problem_send": Access("application.problem_handle", Scope.APPLICATION),
    "applications:problem_reply": Access("application.problem_handle", Scope.APPLICATION),
    "applications:submit": Access("application.submit", Scope.APPLICATION),
    "applications:withdraw": Access("application.withdraw", Scope.APPLICATION),
    "applications:recording": Access("application.recording_attach", Scope.APPLICATION),
    "applications:recording_check": Access("application.recording_check", Scope.APPLICATION),
    "applications:recording_file": Access("application.recording_view", Scope.APPLICATION),
    # Underwriting, policies and premiums (issue 3); underwriting pages take the application's id.
    "underwriting:queue": Access("underwriting.view", Scope.LIST),
    "underwriting:case": Access("underwriting.view", Scope.APPLICATION),
    "underwriting:open": Access("underwriting.decide", Scope.APPLICATION),
    "underwriting:decide": Access("underwriting.decide", Scope.APPLICATION),
    "underwriting:take": Access("underwriting.decide", Scope.APPLICATION),
    "policies:list": Access("policy.view", Scope.LIST),
    # The top bar's search (issue 16): a policy number opens the policy, else the customer search.
    "policies:search": Access("customer.view", Scope.LIST),
    "policies:to_issue": Access("policy.view", Scope.LIST),
    "policies:issue": Access("policy.issue", Scope.APPLICATION),
    "policies:due": Access("payment.view", Scope.LIST),
    "policies:payment_new": Access("payment.record", Scope.LIST),
    "policies:customer_policies": Access("policy.view", Scope.CUSTOMER),
    "policies:detail": Access("policy.view", Scope.POLICY),
    "policies:print": Access("policy.view", Scope.POLICY),
    "policies:pdf": Access("policy.view", Scope.POLICY),
    "policies:receipt": Access("policy.receipt", Scope.POLICY),
    "policies:cancel": Access("policy.cancel", Scope.POLICY),
    "policies:member_add": Access("policy.members", Scope.POLICY),
    "policies:members_import": Access("policy.members", Scope.POLICY),
    "policies:member_remove": Access("policy.members", Scope.POLICY),
    # Compliance, AML and PIPL (issue 5).
    "compliance:home": Access("compliance.view", Scope.LIST),
    "compliance:audit_log": Access("audit.view", Scope.LIST),
    "compliance:audit_export": Access("audit.export", Scope.LIST),
    "compliance:audit_verify": Access("audit.view", Scope.LIST),
    "compliance:queue": Access("compliance.view", Scope.LIST),
    "compliance:customer_aml": Access("compliance.view", Scope.CUSTOMER),
    "compliance:customer_rate": Access("compliance.manage", Scope.CUSTOMER),
    "compliance:customer_review": Access("compliance.manage", Scope.CUSTOMER),
    "compliance:customer_panel": Access("consent.view", Scope.CUSTOMER),
    "compliance:consent_add": Access("consent.manage", Scope.CUSTOMER),
    "compliance:consent_withdraw": Access("consent.manage", Scope.CONSENT),
    "compliance:flags": Access("compliance.view", Scope.LIST),
    "compliance:flag_raise": Access("compliance.manage", Scope.CUSTOMER),
    "compliance:flag_review": Access("compliance.manage", Scope.FLAG),
    "compliance:checks": Access("compliance.view", Scope.LIST),
    "compliance:checks_run": Access("compliance.manage", Scope.LIST),
    "compliance:tasks": Access("compliance.view", Scope.LIST),
    "compliance:task_detail": Access("compliance.view", Scope.TASK),
    "compliance:task_action": Access("compliance.manage", Scope.TASK),
    "compliance:pi_requests": Access("compliance.view", Scope.LIST),
    "compliance:pi_request_create": Access("compliance.manage", Scope.LIST),
    "compliance:pi_request_detail": Access("compliance.view", Scope.PI_REQUEST),
    "compliance:pi_request_action": Access("compliance.manage", Scope.PI_REQUEST),
    # Retention and destruction (issue 5): a request is addressed through its archive.
    "lifecycle:index": Access("lifecycle.view", Scope.LIST),
    "lifecycle:records": Access("lifecycle.view", Scope.LIST),
    "lifecycle:customer": Access("lifecycle.view", Scope.CUSTOMER),
    "lifecycle:request": Access("lifecycle.request", Scope.CUSTOMER),
    "lifecycle:withdraw": Access("lifecycle.request", Scope.CUSTOMER),
    "lifecycle:approve": Access("lifecycle.approve", Scope.CUSTOMER),
    "lifecycle:reject": Access("lifecycle.approve", Scope.CUSTOMER),
    # Bulk import and export (issue 4).
    "exchange:index": Access("exchange.import", Scope.LIST),
    "exchange:upload": Access("exchange.import", Scope.LIST),
    "exchange:template": Access("exchange.import", Scope.LIST),
    "exchange:run": Access("exchange.import", Scope.IMPORT_RUN),
    "exchange:run_progress": Access("exchange.import", Scope.IMPORT_RUN),
    "exchange:run_report": Access("exchange.import", Scope.IMPORT_RUN),
    "exchange:run_resume": Access("exchange.import", Scope.IMPORT_RUN),
    "exchange:exports": Access("exchange.export", Scope.LIST),
    "exchange:export_list": Access("exchange.export", Scope.LIST),
    "exchange:customer_file": Access("customer.export_file", Scope.CUSTOMER),
    "exchange:customer_file_lookup": Access("customer.export_file", Scope.LIST),
    # Claims and the contact log (issue 4): lists, and the archive page's sections.
    "claims:list": Access("claim.view", Scope.LIST),
    "claims:customer_claims": Access("claim.view", Scope.CUSTOMER),
    # Claim handling (issue 17): the queue is claims:list; each action a form posted to its own URL.
    "claims:report": Access("claim.report", Scope.LIST),
    "claims:detail": Access("claim.view", Scope.CLAIM),
    "claims:documents": Access("claim.handle", Scope.CLAIM),
    "claims:assess": Access("claim.handle", Scope.CLAIM),
    "claims:decide": Access("claim.handle", Scope.CLAIM),
    "claims:approve": Access("claim.approve", Scope.CLAIM),
    "claims:pay": Access("claim.handle", Scope.CLAIM),
    "claims:advance": Access("claim.handle", Scope.CLAIM),
    "claims:close": Access("claim.handle", Scope.CLAIM),
    "claims:reopen": Access("claim.handle", Scope.CLAIM),
    "claims:notice": Access("claim.view", Scope.CLAIM),
    "claims:notice_sent": Access("claim.handle", Scope.CLAIM),
    "care:contacts": Access("contact.view", Scope.LIST),
    "care:customer_contacts": Access("contact.view", Scope.CUSTOMER),
    # Running for real (issue 21): probes for load balancers; /metrics checks its own address list or token.
    "healthz": Access(None, Scope.PUBLIC),
    "readyz": Access(None, Scope.PUBLIC),
    "metrics": Access(None, Scope.PUBLIC),
    "webhooks:list": Access("webhook.manage", Scope.LIST),
    "webhooks:detail": Access("webhook.manage", Scope.WEBHOOK),
    "webhooks:toggle": Access("webhook.manage", Scope.WEBHOOK),
    "webhooks:replay": Access("webhook.manage", Scope.WEBHOOK),
    # Servicing (issue 17): the queue, a request and its actions; a policy's requests and endorsements.
    "servicing:queue": Access("servicing.view", Scope.LIST),
    "servicing:new": Access("servicing.request", Scope.POLICY),
    "servicing:policy_panel": Access("servicing.view", Scope.POLICY),
    "servicing:endorsement_print": Access("servicing.view", Scope.POLICY),
    "servicing:endorsement_pdf": Access("servicing.view", Scope.POLICY),
    "servicing:detail": Access("servicing.view", Scope.SERVICING),
    "servicing:approve": Access("servicing.approve", Scope.SERVICING),
    "servicing:reject": Access("servicing.approve", Scope.SERVICING),
    "servicing:withdraw": Access("servicing.request", Scope.SERVICING),
    "servicing:documents": Access("servicing.request", Scope.SERVICING),
    "servicing:underwrite": Access("servicing.underwrite", Scope.SERVICING),
}

# "METHOD /path" below /api/v1 (path parameters as {name}) -> access.
API: dict[str, Access] = {
    "POST /auth/token": Access(None, Scope.PUBLIC),
    "POST /auth/revoke": Access(None, Scope.SELF),
    "GET /customers": Access("customer.view", Scope.LIST),
    "POST /customers": Access("customer.create", Scope.LIST),
    "GET /customers/{id}": Access("customer.view", Scope.CUSTOMER),
    "PATCH /customers/{id}": Access("customer.change", Scope.CUSTOMER),
    "POST /customers/{id}/reveal": Access("customer.reveal", Scope.CUSTOMER),
    "GET /products": Access("product.view", Scope.LIST),
    "POST /products": Access("product.manage", Scope.LIST),
    "GET /products/{code}": Access("product.view", Scope.ALL),
    "PATCH /products/{code}": Access("product.manage", Scope.ALL),
    "GET /applications": Access("application.view", Scope.LIST),
    "POST /applications": Access("application.create", Scope.LIST),
    "GET /applications/stats/entry-errors": Access("application.stats", Scope.LIST),
    "GET /applications/{id}": Access("application.view", Scope.APPLICATION),
    "PATCH /applications/{id}": Access("application.change", Scope.APPLICATION),
    "POST /applications/{id}/second-entry": Access("application.second_entry", Scope.APPLICATION),
    "GET /applications/{id}/problems": Access("application.view", Scope.APPLICATION),
    "POST /applications/{id}/problems": Access("application.problem_raise", Scope.APPLICATION),
    "POST /applications/{id}/problems/{pid}/resolve": Access("application.resolve", Scope.APPLICATION),
    "POST /applications/{id}/problems/{pid}/send": Access("application.problem_handle", Scope.APPLICATION),
    "POST /applications/{id}/problems/{pid}/reply": Access("application.problem_handle", Scope.APPLICATION),
    "POST /applications/{id}/problems/{pid}/assign": Access("application.problem_handle", Scope.APPLICATION),
    "POST /applications/{id}/submit": Access("application.submit", Scope.APPLICATION),
    "POST /applications/{id}/withdraw": Access("application.withdraw", Scope.APPLICATION),
    "POST /applications/{id}/recording": Access("application.recording_attach", Scope.APPLICATION),
    "POST /applications/{id}/recording/check": Access("application.recording_check", Scope.APPLICATION),
    # Underwriting, policies and premiums (issue 3); see docs/design/underwriting-policies.md.
    "GET /underwriting/queue": Access("underwriting.view", Scope.LIST),
    "GET /applications/{id}/underwriting": Access("underwriting.view", Scope.APPLICATION),
    "POST /applications/{id}/underwriting": Access("underwriting.decide", Scope.APPLICATION),
    "GET /policies": Access("policy.view", Scope.LIST),
    "POST /policies": Access("policy.issue", Scope.LIST),
    "GET /policies/{id}": Access("policy.view", Scope.POLICY),
    "POST /policies/{id}/cancel": Access("policy.cancel", Scope.POLICY),
    "GET /policies/{id}/members": Access("policy.view", Scope.POLICY),
    "POST /policies/{id}/members": Access("policy.members", Scope.POLICY),
    "POST /policies/{id}/members/import": Access("policy.members", Scope.POLICY),
    "POST /policies/{id}/members/{member_id}/remove": Access("policy.members", Scope.POLICY),
    "GET /payments": Access("payment.view", Scope.LIST),
    "POST /payments": Access("payment.record", Scope.LIST),
    "GET /payments/due": Access("payment.view", Scope.LIST),
    # Compliance, AML and PIPL (issue 5).
    "GET /audit": Access("audit.view", Scope.LIST),
    "GET /compliance/queues/{name}": Access("compliance.view", Scope.LIST),
    "GET /compliance/customers/{id}/aml": Access("compliance.view", Scope.CUSTOMER),
    "POST /compliance/customers/{id}/aml/rate": Access("compliance.manage", Scope.CUSTOMER),
    "POST /compliance/customers/{id}/aml/reviews": Access("compliance.manage", Scope.CUSTOMER),
    "GET /compliance/customers/{id}/consents": Access("consent.view", Scope.CUSTOMER),
    "POST /compliance/customers/{id}/consents": Access("consent.manage", Scope.CUSTOMER),
    "POST /compliance/consents/{id}/withdraw": Access("consent.manage", Scope.CONSENT),
    "GET /compliance/flags": Access("compliance.view", Scope.LIST),
    "POST /compliance/flags": Access("compliance.manage", Scope.LIST),
    "POST /compliance/flags/{id}/review": Access("compliance.manage", Scope.FLAG),
    "GET /compliance/findings": Access("compliance.view", Scope.LIST),
    "POST /compliance/checks/run": Access("compliance.manage", Scope.LIST),
    "GET /compliance/tasks": Access("compliance.view", Scope.LIST),
    "POST /compliance/tasks/{id}/transition": Access("compliance.manage", Scope.TASK),
    "POST /compliance/tasks/{id}/assign": Access("compliance.manage", Scope.TASK),
    "GET /compliance/pi-requests": Access("compliance.view", Scope.LIST),
    "POST /compliance/pi-requests": Access("compliance.manage", Scope.LIST),
    "POST /compliance/pi-requests/{id}/close": Access("compliance.manage", Scope.PI_REQUEST),
    # Retention and destruction (issue 5).
    "GET /lifecycle/rules": Access("lifecycle.view", Scope.LIST),
    "GET /lifecycle/due": Access("lifecycle.view", Scope.LIST),
    "GET /lifecycle/requests": Access("lifecycle.view", Scope.LIST),
    "GET /lifecycle/records": Access("lifecycle.view", Scope.LIST),
    "GET /lifecycle/customers/{id}/retention": Access("lifecycle.view", Scope.CUSTOMER),
    "POST /lifecycle/customers/{id}/destruction": Access("lifecycle.request", Scope.CUSTOMER),
    "POST /lifecycle/customers/{id}/destruction/withdraw": Access("lifecycle.request", Scope.CUSTOMER),
    "POST /lifecycle/customers/{id}/destruction/approve": Access("lifecycle.approve", Scope.CUSTOMER),
    "POST /lifecycle/customers/{id}/destruction/reject": Access("lifecycle.approve", Scope.CUSTOMER),
    # Claims (issue 17).
    "POST /claims": Access("claim.report", Scope.LIST),
    "GET /claims": Access("claim.view", Scope.LIST),
    "GET /claims/{id}": Access("claim.view", Scope.CLAIM),
    "POST /claims/{id}/documents": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/assess": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/decide": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/approve": Access("claim.approve", Scope.CLAIM),
    "POST /claims/{id}/pay": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/advance": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/close": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/reopen": Access("claim.handle", Scope.CLAIM),
    "POST /claims/{id}/notices/{notice_id}/sent": Access("claim.handle", Scope.CLAIM),
    # Bulk import and export (issue 4).
    "POST /imports": Access("exchange.import", Scope.LIST),
    "GET /imports": Access("exchange.import", Scope.LIST),
    "GET /imports/{id}": Access("exchange.import", Scope.IMPORT_RUN),
    "GET /imports/{id}/report": Access("exchange.import", Scope.IMPORT_RUN),
    "GET /exports/{name}": Access("exchange.export", Scope.LIST),
    "GET /exports/customers/{id}/file": Access("customer.export_file", Scope.CUSTOMER),
    # Webhooks (issue 21): a published contract.
    "POST /webhooks": Access("webhook.manage", Scope.LIST),
    "GET /webhooks": Access("webhook.manage", Scope.LIST),
    "GET /webhooks/{id}/deliveries": Access("webhook.manage", Scope.WEBHOOK),
    "POST /webhooks/{id}/deliveries/{delivery_id}/replay": Access("webhook.manage", Scope.WEBHOOK),
    # Servicing (issue 17).
    "POST /servicing-requests": Access("servicing.request", Scope.LIST),
    "GET /servicing-requests": Access("servicing.view", Scope.LIST),
    "GET /servicing-requests/{id}": Access("servicing.view", Scope.SERVICING),
    "POST /servicing-requests/{id}/approve": Access("servicing.approve", Scope.SERVICING),
    "POST /servicing-requests/{id}/reject": Access("servicing.approve", Scope.SERVICING),
    "POST /servicing-requests/{id}/withdraw": Access("servicing.request", Scope.SERVICING),
    "POST /servicing-requests/{id}/documents": Access("servicing.request", Scope.SERVICING),
    "POST /servicing-requests/{id}/underwriting": Access("servicing.underwrite", Scope.SERVICING),
    "GET /policies/{id}/endorsements": Access("servicing.view", Scope.POLICY),
}

_PARAM = re.compile(r"[{<](?:[^:{}<>]+:)?([^:{}<>]+)[}>]")


def api_key(method: str, path: str) -> str:
    """Return the API key of an operation: ("get", "customers/<int:id>") -> "GET /customers/{id}"."""
    plain = re.sub(r"/+", "/", _PARAM.sub(r"{\1}", path)).strip("/")
    return f"{method.upper()} /{plain}"


def page_access(view_name: str) -> Access | None:
    """Return the declared access of a URL name ("customers:detail"), or None when undeclared."""
    found = PAGES.get(view_name)
    if found is None and ":" in view_name:
        found = PAGES.get(view_name.split(":", 1)[0] + ":*")
    return found


def api_access(method: str, path: str) -> Access | None:
    return API.get(api_key(method, path))


def allows(user, access: Access) -> bool:
    """Tell whether a signed-in user's role passes the route's action check."""
    return access.action is None or can(user, access.action)


def needs_second_factor(user) -> bool:
    """Tell whether the user's role must sign in with a second factor."""
    return role_of(user) in SECOND_FACTOR_ROLES


def _example(key: str) -> str:
    scopes = "|".join(s.name for s in Scope)
    return f'    "{key}": Access("<action in POLICY>", Scope.<{scopes}>),'


def undeclared_page(view_name: str, route: str) -> str:
    return (
        f"URL {view_name or '(unnamed)'} ({route}) is not declared in the access policy. "
        "Give it a name if it has none, then add to PAGES in insurdesk/org/policy.py, e.g.\n"
        f"{_example(view_name or 'app:name')}\n"
        "and, for a scope whose records the access test cannot build yet, a factory in "
        "tests/test_access_policy.py (RECORDS); then its row (who may open it) in tests/test_access_matrix.py"
    )


def undeclared_api(key: str) -> str:
    return (
        f"API operation {key} is not declared in the access policy. "
        f"Add to API in insurdesk/org/policy.py:\n{_example(key)}\n"
        "then its row (who may call it) in tests/test_access_matrix.py."
    )
