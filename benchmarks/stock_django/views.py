"""The three endpoints, written as a DRF tutorial would (generic views, model serializers)."""

from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Message, Org, Room


class OrgSerializer(serializers.ModelSerializer):
    class Meta:
        model = Org
        fields = ["id", "slug", "name", "created_at"]


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "is_private", "created_by", "created_at"]


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "room", "author", "body", "created_at"]
        read_only_fields = ["id", "room", "author", "created_at"]


class OrgDetail(APIView):
    """GET /api/tenant: the token's user (DRF's one query), then one row lookup."""

    def get(self, request):
        return Response(OrgSerializer(Org.objects.get(slug="bench")).data)


class Page(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class RoomList(generics.ListAPIView):
    """GET /api/rooms: {count, next, previous, results}, 50 a page (as ours)."""

    queryset = Room.objects.all()
    serializer_class = RoomSerializer
    pagination_class = Page


class RoomMessageCreate(generics.CreateAPIView):
    """POST /api/rooms/{id}/messages: look the room up, insert the message, 201."""

    serializer_class = MessageSerializer

    def perform_create(self, serializer):
        room = get_object_or_404(Room, pk=self.kwargs["room_id"])
        serializer.save(room=room, author=self.request.user)
