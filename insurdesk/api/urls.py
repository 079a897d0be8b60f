"""The REST API (`/api/v1/`): one NinjaAPI that mounts each app's router.

OpenAPI at /api/v1/openapi.json, Swagger UI at /api/v1/docs, served from ninja's own static files.
"""

from insurdesk.api.auth import BearerToken
from insurdesk.api.errors import install as install_error_handlers
from insurdesk.api.schema import InsurdeskAPI
from insurdesk.applications.api import router as applications_router
from insurdesk.claims.api import router as claims_router
from insurdesk.compliance.api import audit_router
from insurdesk.compliance.api import router as compliance_router
from insurdesk.customers.api import router as customers_router
from insurdesk.exchange.api import router as exchange_router
from insurdesk.lifecycle.api import router as lifecycle_router
from insurdesk.org.api import router as auth_router
from insurdesk.policies.api import payments_router, policies_router
from insurdesk.products.api import router as products_router
from insurdesk.servicing.api import router as servicing_router
from insurdesk.underwriting.api import router as underwriting_router
from insurdesk.webhooks.api import router as webhooks_router

api = InsurdeskAPI(
    title="insurdesk API",
    version="1",
    description=(
        "保险客户档案与保单业务系统 REST API。先以 POST /api/v1/auth/token 取得令牌，"
        "再在请求头中发送 Authorization: Bearer <token>。错误统一为 "
        '{"errors": [{"field", "code", "message"}]}。'
    ),
    auth=BearerToken(),
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/auth", auth_router)
api.add_router("/customers", customers_router)
api.add_router("/products", products_router)
api.add_router("/applications", applications_router)
# underwriting serves /applications/{id}/underwriting and /underwriting/queue
api.add_router("", underwriting_router)
api.add_router("/policies", policies_router)
api.add_router("/payments", payments_router)
api.add_router("", servicing_router)  # /servicing-requests, /policies/{id}/endorsements
api.add_router("/claims", claims_router)
api.add_router("/lifecycle", lifecycle_router)
api.add_router("/audit", audit_router)
api.add_router("/compliance", compliance_router)
api.add_router("", exchange_router)  # /imports, /exports
api.add_router("/webhooks", webhooks_router)
