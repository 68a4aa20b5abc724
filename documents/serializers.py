from rest_framework import serializers

from common.serializers import ModelSerializer  # fields built once per class

from .models import Document, DocumentMember, DocumentVersion


class DocumentInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    is_private = serializers.BooleanField(default=False)


class DocumentChangeSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    is_private = serializers.BooleanField(required=False)


class DocumentOutputSerializer(ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "title", "is_private", "created_by", "created_at", "updated_at", "size", "last_seq"]


class DocumentMemberInputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(min_value=1)
    role = serializers.ChoiceField(choices=DocumentMember.Role.choices, default=DocumentMember.Role.EDITOR)


class DocumentContentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    seq = serializers.IntegerField(help_text="The last update the content includes.")
    content = serializers.DictField(help_text="Every root type of the Yjs document, as JSON.")
    text = serializers.CharField(help_text="The Y.Text named `content` ('' if there is none).")


class DocumentVersionInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class DocumentVersionOutputSerializer(ModelSerializer):
    class Meta:
        model = DocumentVersion
        fields = ["id", "name", "seq", "created_at", "created_by"]
