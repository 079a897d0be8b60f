from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks: other systems subscribe to domain events (insurdesk.common.events)."""

    name = "insurdesk.webhooks"
    label = "webhooks"
    verbose_name = "Webhook"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from insurdesk.common.events import subscribe
        from insurdesk.webhooks.services import on_event

        subscribe(on_event)
