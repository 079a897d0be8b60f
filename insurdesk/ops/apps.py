from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running insurdesk for real: serve, scheduler, worker heartbeat, health, metrics, request logs."""

    name = "insurdesk.ops"
    label = "ops"
    verbose_name = "运行"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from insurdesk.ops import scheduler  # noqa: F401  (registers the daily job)
