"""The declared routes and how the checks read them."""

import logging

from django.test import RequestFactory

from insurdesk.org.policy import PAGES, Access, Scope, api_key, page_access


def test_api_keys_read_ninja_and_django_paths_alike():
    assert api_key("get", "customers/<int:id>") == "GET /customers/{id}"
    assert api_key("POST", "/customers/{int:id}/reveal") == "POST /customers/{id}/reveal"
    assert api_key("get", "applications//{id}") == "GET /applications/{id}"


def test_a_namespace_wildcard_covers_its_pages():
    assert page_access("admin:auth_user_changelist") == PAGES["admin:*"]
    assert page_access("customers:no_such_page") is None


def test_an_undeclared_page_is_refused_for_everyone_and_says_what_to_add(make_user, caplog):
    from django.core.exceptions import PermissionDenied
    from django.urls import ResolverMatch

    from insurdesk.org.middleware import AccessPolicyMiddleware

    request = RequestFactory().get("/new/")
    request.user = make_user("admin")
    request.resolver_match = ResolverMatch(
        lambda r: None, (), {}, url_name="new_page", app_names=["shiny"], namespaces=["shiny"], route="new/"
    )
    middleware = AccessPolicyMiddleware(lambda r: None)
    with caplog.at_level(logging.ERROR):
        try:
            middleware.process_view(request, None, (), {})
        except PermissionDenied:
            pass
        else:
            raise AssertionError("an undeclared page was let through")
    assert '"shiny:new_page": Access("<action in POLICY>", Scope.<' in caplog.text


def test_access_is_a_small_value():
    assert Access("customer.view", Scope.CUSTOMER) == Access("customer.view", Scope.CUSTOMER)
    assert Access(None, Scope.SELF).second_factor
