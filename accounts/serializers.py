from rest_framework import serializers

from common.serializers import ModelSerializer  # fields built once per class

from .models import User


class SignupInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class SignupAcceptedSerializer(serializers.Serializer):
    email = serializers.EmailField(help_text="The address, normalised (lower case).")
    message = serializers.CharField()


class TokenInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    tenant = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Optional tenant slug or id: the token then opens that tenant only.",
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class UserOutputSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "email_verified"]


class PasswordResetInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class PasswordChangeInputSerializer(serializers.Serializer):
    current = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    new = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class EmailVerifyInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500)


class PasswordConfirmInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class AcceptedSerializer(serializers.Serializer):
    message = serializers.CharField()


class EmailChangeInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254, help_text="The new address; it takes effect once verified.")
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
