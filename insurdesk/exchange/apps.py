from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "insurdesk.exchange"
    label = "exchange"
    verbose_name = "批量导入导出"

    def ready(self):
        from insurdesk.exchange import daily  # noqa: F401  (registers the upload retention duty)
