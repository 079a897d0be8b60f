from django.contrib import admin
from django.urls import include, path

from insurdesk.api.urls import api

urlpatterns = [
    path("", include("insurdesk.org.urls")),
    path("customers/", include("insurdesk.customers.urls")),
    path("products/", include("insurdesk.products.urls")),
    path("applications/", include("insurdesk.applications.urls")),
    path("underwriting/", include("insurdesk.underwriting.urls")),
    path("policies/", include("insurdesk.policies.urls")),
    path("servicing/", include("insurdesk.servicing.urls")),
    path("claims/", include("insurdesk.claims.urls")),
    path("care/", include("insurdesk.care.urls")),
    path("lifecycle/", include("insurdesk.lifecycle.urls")),
    path("compliance/", include("insurdesk.compliance.urls")),
    path("exchange/", include("insurdesk.exchange.urls")),
    path("system/", include("insurdesk.org.system_urls")),
    path("api/v1/", api.urls),
    path("webhooks/", include("insurdesk.webhooks.urls")),
    path("", include("insurdesk.ops.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
