from rest_framework import serializers

from common.serializers import ModelSerializer  # fields built once per class

from .models import Message, Notification, Room


class RoomInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    is_private = serializers.BooleanField(default=False)


class RoomOutputSerializer(ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "is_private", "created_by", "created_at"]


class RoomMemberInputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)


class MessageInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=4000)


class MessageOutputSerializer(ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "room", "author", "body", "created_at"]


class NotificationOutputSerializer(ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "event", "data", "read_at", "created_at"]


class TicketOutputSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField()


class AnnouncementInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=2000)
