from django.urls import path

from . import views

urlpatterns = [
    path("api/tenant", views.OrgDetail.as_view()),
    path("api/rooms", views.RoomList.as_view()),
    path("api/rooms/<int:room_id>/messages", views.RoomMessageCreate.as_view()),
]
