from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "insurdesk.products"
    label = "products"
    verbose_name = "险种"
