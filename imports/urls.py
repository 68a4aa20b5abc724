from django.urls import path

from . import apis

urlpatterns = [
    path("api/imports", apis.ImportApi.as_view(), name="import-create"),
]
