from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "insurdesk.claims"
    label = "claims"
    verbose_name = "理赔"

    def ready(self):
        from insurdesk.claims import (
            daily,  # noqa: F401  (registers the claim clocks duty)
            workbench,  # noqa: F401  (registers its home-page tiles)
        )
