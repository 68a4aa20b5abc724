from django.urls import path

from . import apis

urlpatterns = [
    path("api/send-email", apis.SendEmailApi.as_view(), name="email-send"),
    path("api/me/digest", apis.DigestPreferenceApi.as_view(), name="me-digest"),
]
