"""Who may open what, written out by hand: a matrix of route × role × scope, compared with the policy.

tests/test_access_policy.py walks every route with the expectations of insurdesk/org/policy.py, so a
role wrongly granted there would pass it. The rows below are the expectations themselves, written in
the test; the policy must grant exactly these roles (no more, no fewer) and declare exactly this
scope. A route added to the site without a row here fails with its name: add the row, deciding who
may open it, in the same change as the route.

Each row: route | scope | roles
- route: the URL name (pages) or "METHOD /path" below /api/v1 (API operations);
- roles: "anyone" (no sign-in), "signed-in" (every role, no action), "all" (every role, by an action
  every role has), the roles by name, or "all but" the roles that may not;
- scope: what record the URL names. For customer, application, policy, task, flag, consent,
  pi_request, import_run and token a record outside the caller's scope answers exactly as a missing
  one (404) and the caller's own record must get through (never 404); list, self, all and public
  name no scoped record.
The in-scope/out-of-scope answers of every route are walked in test_access_policy.py (which takes
the policy; this file pins the policy), and the detail pages are checked here against the matrix.
"""

import pytest
from django.test import Client
from django.urls import reverse

from insurdesk.org.models import Role
from insurdesk.org.policy import ALL_ROLES, API, PAGES, POLICY, Scope, page_access
from tests.test_access_policy import OPERATIONS, RECORDS, World, site_pages

ROLES = frozenset(Role.values)

PAGE_MATRIX = """
login                         | public      | anyone
set_language                  | public      | anyone
logout                        | self        | signed-in
home                          | self        | signed-in
account                       | self        | signed-in
otp_setup                     | self        | signed-in
otp_verify                    | self        | signed-in
api_token_create              | self        | signed-in
api_token_revoke              | token       | signed-in
customers:list                | list        | all
customers:create_individual   | list        | clerk reviewer agent service cs admin
customers:create_corporate    | list        | clerk reviewer agent service cs admin
customers:detail              | customer    | all
customers:edit                | customer    | all but underwriter claims cs manager
customers:relation_add        | customer    | all but underwriter claims cs manager
customers:relation_remove     | customer    | all but underwriter claims cs manager
customers:reveal              | customer    | agent cs manager
api:api-root                  | public      | anyone
api:openapi-json              | public      | anyone
api:openapi-view              | public      | anyone
admin:*                       | all         | admin
products:list                 | list        | all
products:create               | list        | admin
products:detail               | all         | all
products:edit                 | all         | admin
applications:list             | list        | all
applications:queues           | list        | all
applications:create           | list        | clerk admin
applications:lookup           | list        | clerk admin
applications:problems         | list        | all
applications:entry_errors     | list        | reviewer compliance manager admin
applications:detail           | application | all
applications:edit             | application | clerk admin
applications:second_entry     | application | clerk reviewer admin
applications:problem_raise    | application | clerk reviewer underwriter admin
applications:problem_resolve  | application | reviewer admin
applications:problem_assign   | application | clerk reviewer admin
applications:problem_send     | application | clerk reviewer admin
applications:problem_reply    | application | clerk reviewer admin
applications:submit           | application | clerk reviewer admin
applications:withdraw         | application | clerk reviewer admin
applications:recording        | application | clerk reviewer agent admin
applications:recording_check  | application | reviewer compliance admin
applications:recording_file   | application | all but agent service claims cs manager
underwriting:queue            | list        | all but clerk agent service claims cs
underwriting:case             | application | all but clerk agent service claims cs
underwriting:open             | application | underwriter admin
underwriting:decide           | application | underwriter admin
underwriting:take             | application | underwriter admin
policies:list                 | list        | all
policies:to_issue             | list        | all
policies:issue                | application | clerk underwriter admin
policies:due                  | list        | all
policies:payment_new          | list        | clerk service admin
policies:customer_policies    | customer    | all
policies:detail               | policy      | all
policies:print                | policy      | all
policies:pdf                  | policy      | all
policies:receipt              | policy      | clerk service admin
policies:cancel               | policy      | service admin
policies:member_add           | policy      | clerk service admin
policies:members_import       | policy      | clerk service admin
policies:member_remove        | policy      | clerk service admin
compliance:home               | list        | compliance admin
compliance:audit_log          | list        | compliance admin
compliance:audit_export       | list        | compliance admin
compliance:audit_verify       | list        | compliance admin
compliance:queue              | list        | compliance admin
compliance:customer_aml       | customer    | compliance admin
compliance:customer_rate      | customer    | compliance admin
compliance:customer_review    | customer    | compliance admin
compliance:customer_panel     | customer    | clerk cs compliance admin
compliance:consent_add        | customer    | clerk cs compliance admin
compliance:consent_withdraw   | consent     | clerk cs compliance admin
compliance:flags              | list        | compliance admin
compliance:flag_raise         | customer    | compliance admin
compliance:flag_review        | flag        | compliance admin
compliance:checks             | list        | compliance admin
compliance:checks_run         | list        | compliance admin
compliance:tasks              | list        | compliance admin
compliance:task_detail        | task        | compliance admin
compliance:task_action        | task        | compliance admin
compliance:pi_requests        | list        | compliance admin
compliance:pi_request_create  | list        | compliance admin
compliance:pi_request_detail  | pi_request  | compliance admin
compliance:pi_request_action  | pi_request  | compliance admin
lifecycle:index               | list        | compliance manager admin
lifecycle:records             | list        | compliance manager admin
lifecycle:customer            | customer    | compliance manager admin
lifecycle:request             | customer    | compliance manager admin
lifecycle:withdraw            | customer    | compliance manager admin
lifecycle:approve             | customer    | compliance admin
lifecycle:reject              | customer    | compliance admin
exchange:index                | list        | clerk reviewer admin
exchange:upload               | list        | clerk reviewer admin
exchange:template             | list        | clerk reviewer admin
exchange:run                  | import_run  | clerk reviewer admin
exchange:run_progress         | import_run  | clerk reviewer admin
exchange:run_report           | import_run  | clerk reviewer admin
exchange:run_resume           | import_run  | clerk reviewer admin
exchange:exports              | list        | all but agent underwriter claims cs
exchange:export_list          | list        | all but agent underwriter claims cs
exchange:customer_file        | customer    | service compliance admin
exchange:customer_file_lookup | list        | service compliance admin
claims:list                   | list        | all
claims:customer_claims        | customer    | all
care:contacts                 | list        | all
care:customer_contacts        | customer    | all
account_password              | self        | signed-in
system:users                  | list        | admin
system:user_create            | list        | admin
system:user_detail            | user        | admin
system:user_action            | user        | admin
system:units                  | all         | admin
system:unit_detail            | unit        | admin
policies:search               | list        | all
claims:report                 | list        | claims cs admin
claims:detail                 | claim       | all
claims:documents              | claim       | claims admin
claims:assess                 | claim       | claims admin
claims:decide                 | claim       | claims admin
claims:approve                | claim       | claims admin
claims:pay                    | claim       | claims admin
claims:advance                | claim       | claims admin
claims:close                  | claim       | claims admin
claims:reopen                 | claim       | claims admin
claims:notice                 | claim       | all
claims:notice_sent            | claim       | claims admin
healthz                       | public      | anyone
readyz                        | public      | anyone
metrics                       | public      | anyone
webhooks:list                 | list        | admin
webhooks:detail               | webhook     | admin
webhooks:toggle               | webhook     | admin
webhooks:replay               | webhook     | admin
servicing:queue               | list        | all
servicing:new                 | policy      | clerk agent service cs admin
servicing:policy_panel        | policy      | all
servicing:endorsement_print   | policy      | all
servicing:endorsement_pdf     | policy      | all
servicing:detail              | servicing   | all
servicing:approve             | servicing   | service manager admin
servicing:reject              | servicing   | service manager admin
servicing:withdraw            | servicing   | clerk agent service cs admin
servicing:documents           | servicing   | clerk agent service cs admin
servicing:underwrite          | servicing   | underwriter admin
"""

API_MATRIX = """
POST /auth/token                                    | public      | anyone
POST /auth/revoke                                   | self        | signed-in
GET /customers                                      | list        | all
POST /customers                                     | list        | clerk reviewer agent service cs admin
GET /customers/{id}                                 | customer    | all
PATCH /customers/{id}                               | customer    | all but underwriter claims cs manager
POST /customers/{id}/reveal                         | customer    | agent cs manager
GET /products                                       | list        | all
POST /products                                      | list        | admin
GET /products/{code}                                | all         | all
PATCH /products/{code}                              | all         | admin
GET /applications                                   | list        | all
POST /applications                                  | list        | clerk admin
GET /applications/stats/entry-errors                | list        | reviewer compliance manager admin
GET /applications/{id}                              | application | all
PATCH /applications/{id}                            | application | clerk admin
POST /applications/{id}/second-entry                | application | clerk reviewer admin
GET /applications/{id}/problems                     | application | all
POST /applications/{id}/problems                    | application | clerk reviewer underwriter admin
POST /applications/{id}/problems/{pid}/resolve      | application | reviewer admin
POST /applications/{id}/problems/{pid}/send         | application | clerk reviewer admin
POST /applications/{id}/problems/{pid}/reply        | application | clerk reviewer admin
POST /applications/{id}/problems/{pid}/assign       | application | clerk reviewer admin
POST /applications/{id}/submit                      | application | clerk reviewer admin
POST /applications/{id}/withdraw                    | application | clerk reviewer admin
POST /applications/{id}/recording                   | application | clerk reviewer agent admin
POST /applications/{id}/recording/check             | application | reviewer compliance admin
GET /underwriting/queue                             | list        | all but clerk agent service claims cs
GET /applications/{id}/underwriting                 | application | all but clerk agent service claims cs
POST /applications/{id}/underwriting                | application | underwriter admin
GET /policies                                       | list        | all
POST /policies                                      | list        | clerk underwriter admin
GET /policies/{id}                                  | policy      | all
POST /policies/{id}/cancel                          | policy      | service admin
GET /policies/{id}/members                          | policy      | all
POST /policies/{id}/members                         | policy      | clerk service admin
POST /policies/{id}/members/import                  | policy      | clerk service admin
POST /policies/{id}/members/{member_id}/remove      | policy      | clerk service admin
GET /payments                                       | list        | all
POST /payments                                      | list        | clerk service admin
GET /payments/due                                   | list        | all
GET /audit                                          | list        | compliance admin
GET /compliance/queues/{name}                       | list        | compliance admin
GET /compliance/customers/{id}/aml                  | customer    | compliance admin
POST /compliance/customers/{id}/aml/rate            | customer    | compliance admin
POST /compliance/customers/{id}/aml/reviews         | customer    | compliance admin
GET /compliance/customers/{id}/consents             | customer    | clerk cs compliance admin
POST /compliance/customers/{id}/consents            | customer    | clerk cs compliance admin
POST /compliance/consents/{id}/withdraw             | consent     | clerk cs compliance admin
GET /compliance/flags                               | list        | compliance admin
POST /compliance/flags                              | list        | compliance admin
POST /compliance/flags/{id}/review                  | flag        | compliance admin
GET /compliance/findings                            | list        | compliance admin
POST /compliance/checks/run                         | list        | compliance admin
GET /compliance/tasks                               | list        | compliance admin
POST /compliance/tasks/{id}/transition              | task        | compliance admin
POST /compliance/tasks/{id}/assign                  | task        | compliance admin
GET /compliance/pi-requests                         | list        | compliance admin
POST /compliance/pi-requests                        | list        | compliance admin
POST /compliance/pi-requests/{id}/close             | pi_request  | compliance admin
GET /lifecycle/rules                                | list        | compliance manager admin
GET /lifecycle/due                                  | list        | compliance manager admin
GET /lifecycle/requests                             | list        | compliance manager admin
GET /lifecycle/records                              | list        | compliance manager admin
GET /lifecycle/customers/{id}/retention             | customer    | compliance manager admin
POST /lifecycle/customers/{id}/destruction          | customer    | compliance manager admin
POST /lifecycle/customers/{id}/destruction/withdraw | customer    | compliance manager admin
POST /lifecycle/customers/{id}/destruction/approve  | customer    | compliance admin
POST /lifecycle/customers/{id}/destruction/reject   | customer    | compliance admin
POST /imports                                       | list        | clerk reviewer admin
GET /imports                                        | list        | clerk reviewer admin
GET /imports/{id}                                   | import_run  | clerk reviewer admin
GET /imports/{id}/report                            | import_run  | clerk reviewer admin
GET /exports/{name}                                 | list        | all but agent underwriter claims cs
GET /exports/customers/{id}/file                    | customer    | service compliance admin
POST /claims                                        | list        | claims cs admin
GET /claims                                         | list        | all
GET /claims/{id}                                    | claim       | all
POST /claims/{id}/documents                         | claim       | claims admin
POST /claims/{id}/assess                            | claim       | claims admin
POST /claims/{id}/decide                            | claim       | claims admin
POST /claims/{id}/approve                           | claim       | claims admin
POST /claims/{id}/pay                               | claim       | claims admin
POST /claims/{id}/advance                           | claim       | claims admin
POST /claims/{id}/close                             | claim       | claims admin
POST /claims/{id}/reopen                            | claim       | claims admin
POST /claims/{id}/notices/{notice_id}/sent          | claim       | claims admin
POST /webhooks                                      | list        | admin
GET /webhooks                                       | list        | admin
GET /webhooks/{id}/deliveries                       | webhook     | admin
POST /webhooks/{id}/deliveries/{delivery_id}/replay | webhook     | admin
POST /servicing-requests                            | list        | clerk agent service cs admin
GET /servicing-requests                             | list        | all
GET /servicing-requests/{id}                        | servicing   | all
POST /servicing-requests/{id}/approve               | servicing   | service manager admin
POST /servicing-requests/{id}/reject                | servicing   | service manager admin
POST /servicing-requests/{id}/withdraw              | servicing   | clerk agent service cs admin
POST /servicing-requests/{id}/documents             | servicing   | clerk agent service cs admin
POST /servicing-requests/{id}/underwriting          | servicing   | underwriter admin
GET /policies/{id}/endorsements                     | policy      | all
"""


# Every action of the policy, pages or not (what a role may see masked or change inside a page):
# action | roles.
ACTION_MATRIX = """
customer.view                  | all
customer.create                | clerk reviewer agent service cs admin
customer.change                | all but underwriter claims cs manager
customer.change_aml            | compliance admin
customer.see_sensitive         | all but agent cs manager
customer.reveal                | agent cs manager
customer.override_uscc         | reviewer compliance admin
customer.history               | all
org.manage                     | admin
audit.view                     | compliance admin
product.view                   | all
product.manage                 | admin
application.view               | all
application.create             | clerk admin
application.change             | clerk admin
application.second_entry       | clerk reviewer admin
application.resolve            | reviewer admin
application.problem_raise      | clerk reviewer underwriter admin
application.problem_handle     | clerk reviewer admin
application.queue_underwriting | underwriter manager admin
application.submit             | clerk reviewer admin
application.withdraw           | clerk reviewer admin
application.recording_attach   | clerk reviewer agent admin
application.recording_check    | reviewer compliance admin
application.stats              | reviewer compliance manager admin
application.recording_view     | all but agent service claims cs manager
underwriting.view              | all but clerk agent service claims cs
underwriting.decide            | underwriter admin
policy.view                    | all
policy.issue                   | clerk underwriter admin
policy.receipt                 | clerk service admin
policy.cancel                  | service admin
policy.members                 | clerk service admin
payment.view                   | all
payment.record                 | clerk service admin
audit.export                   | compliance admin
compliance.view                | compliance admin
compliance.manage              | compliance admin
consent.view                   | clerk cs compliance admin
consent.manage                 | clerk cs compliance admin
lifecycle.view                 | compliance manager admin
lifecycle.request              | compliance manager admin
lifecycle.approve              | compliance admin
exchange.import                | clerk reviewer admin
exchange.export                | all but agent underwriter claims cs
customer.export_file           | service compliance admin
policy.import                  | clerk reviewer admin
claim.view                     | all
claim.create                   | clerk reviewer claims cs admin
claim.change                   | claims admin
contact.view                   | all
contact.create                 | all but underwriter compliance
contact.change                 | clerk reviewer agent service cs admin
claim.report                   | claims cs admin
claim.handle                   | claims admin
claim.approve                  | claims admin
webhook.manage                 | admin
servicing.view                 | all
servicing.request              | clerk agent service cs admin
servicing.approve              | service manager admin
servicing.underwrite           | underwriter admin
"""


def _parse(text: str) -> dict[str, tuple[frozenset[str] | str, str]]:
    rows = {}
    for line in text.strip().splitlines():
        route, scope, roles = (part.strip() for part in line.split("|"))
        assert route not in rows, f"{route} has two rows in the matrix"
        if roles in ("anyone", "signed-in"):
            who: frozenset[str] | str = roles
        elif roles == "all":
            who = ROLES
        elif roles.startswith("all but "):
            who = ROLES - frozenset(roles.removeprefix("all but ").split())
        else:
            who = frozenset(roles.split())
            assert who <= ROLES, f"{route}: unknown roles {sorted(who - ROLES)}"
        rows[route] = (who, scope)
    return rows


PAGE_ROWS = _parse(PAGE_MATRIX)
API_ROWS = _parse(API_MATRIX)


ACTION_ROWS = {action: who for action, (who, _) in _parse(ACTION_MATRIX.replace(" | ", " | - | ")).items()}


def test_every_action_of_the_policy_has_exactly_the_roles_of_the_matrix():
    wrong = [f"{a}: in the policy but not in ACTION_MATRIX" for a in POLICY if a not in ACTION_ROWS]
    wrong += [f"{a}: in ACTION_MATRIX but not in the policy" for a in ACTION_ROWS if a not in POLICY]
    for action in POLICY.keys() & ACTION_ROWS.keys():
        more, fewer = (
            sorted(POLICY[action] - ACTION_ROWS[action]),
            sorted(ACTION_ROWS[action] - POLICY[action]),
        )
        if more or fewer:
            wrong.append(
                f"{action}: the policy grants {more or 'no'} more and {fewer or 'no'} fewer roles "
                "than the matrix"
            )
    assert not wrong, "\n".join(wrong)


def _declared_key(name: str) -> str:
    return name if name in PAGES else name.split(":", 1)[0] + ":*"


def _row_example(route: str) -> str:
    return f"{route} | <{'/'.join(s.value for s in Scope)}> | <roles, e.g. clerk reviewer admin>"


def test_every_route_of_the_site_has_a_row():
    """A new page or API operation fails here by name until its row says who may open it."""
    missing = sorted({_declared_key(p.name) for p in site_pages() if p.name} - set(PAGE_ROWS))
    missing += sorted({op.key for op in OPERATIONS} - set(API_ROWS))
    assert not missing, (
        "routes without a row in tests/test_access_matrix.py (PAGE_MATRIX / API_MATRIX); add one per "
        "route, with the roles that may open it and its scope:\n"
        + "\n".join(_row_example(r) for r in missing)
    )


def test_every_row_names_a_route_that_exists():
    routes = {_declared_key(p.name) for p in site_pages() if p.name} | {op.key for op in OPERATIONS}
    stale = sorted((set(PAGE_ROWS) | set(API_ROWS)) - routes)
    assert not stale, f"rows in tests/test_access_matrix.py for routes that no longer exist: {stale}"


def _granted(access) -> frozenset[str] | str:
    if access.scope == Scope.PUBLIC:
        return "anyone"
    if access.action is None:
        return "signed-in"
    return POLICY.get(access.action, frozenset())


@pytest.mark.parametrize(("table", "rows"), [(PAGES, PAGE_ROWS), (API, API_ROWS)], ids=["pages", "api"])
def test_the_policy_grants_exactly_the_roles_of_the_matrix(table, rows):
    wrong = []
    for route, (expected, scope) in rows.items():
        access = table.get(route)
        if access is None:
            wrong.append(f"{route}: in the matrix but not declared in insurdesk/org/policy.py")
            continue
        granted = _granted(access)
        if granted != expected:
            if isinstance(granted, str) or isinstance(expected, str):
                wrong.append(f"{route}: the matrix says {expected!r}, the policy grants {granted!r}")
            else:
                more, fewer = sorted(granted - expected), sorted(expected - granted)
                wrong.append(
                    f"{route} ({access.action}): the policy grants {more or 'no'} more and {fewer or 'no'} "
                    "fewer roles than the matrix"
                )
        if access.scope.value != scope:
            wrong.append(f"{route}: the matrix says scope {scope}, the policy declares {access.scope.value}")
    assert not wrong, "\n".join(wrong)


def test_every_role_has_something_and_only_admin_has_everything():
    # A sanity check of the matrix itself: rows written by hand, not copied from ALL_ROLES.
    reach = {
        role: sum(role in who for who, _ in PAGE_ROWS.values() if not isinstance(who, str)) for role in ROLES
    }
    assert all(reach.values()), reach
    assert max(reach, key=reach.get) == "admin"
    assert ALL_ROLES == ROLES


# ---------------------------------------------------------------- the matrix on the running site

DETAIL_PAGES = ["customers:detail", "applications:detail", "policies:detail", "policies:print"]


@pytest.fixture
def world(units, make_user, individual_data, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return World(units, make_user, individual_data)


@pytest.mark.django_db
@pytest.mark.parametrize("name", DETAIL_PAGES)
def test_each_role_opens_its_own_record_and_not_one_outside_its_scope(world, name):
    """By the matrix, not the policy: a role with the page opens its own record (200, never 404),
    gets 404 for one outside its scope, and 403 without the page."""
    expected, scope = PAGE_ROWS[name]
    problems = []
    for role, user in world.users.items():
        values = RECORDS[scope](world, user, True), RECORDS[scope](world, user, False)
        client = Client()
        client.force_login(user)
        inside, outside = (client.get(reverse(name, kwargs={"pk": v["pk"]})) if v else None for v in values)
        if role not in expected:
            if inside.status_code != 403:
                problems.append(f"{role}: expected 403 without the page, got {inside.status_code}")
            continue
        if inside.status_code != 200:
            problems.append(f"{role}: its own {scope} answered {inside.status_code}, expected 200")
        if outside is not None and outside.status_code != 404:
            problems.append(
                f"{role}: a {scope} outside its scope answered {outside.status_code}, expected 404"
            )
    assert page_access(name) is not None
    assert not problems, f"{name}:\n" + "\n".join(problems)
