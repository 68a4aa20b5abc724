from django.apps import AppConfig


class StockDjangoConfig(AppConfig):
    name = "benchmarks.stock_django"
    label = "stock_django"
    default_auto_field = "django.db.models.BigAutoField"
