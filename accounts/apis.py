from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError

from .models import AuthToken
from .serializers import (SignupInputSerializer, TokenInputSerializer, TokenOutputSerializer,
                          UserOutputSerializer)
from .services import token_issue, token_revoke, user_signup


class SignupApi(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "auth"

    @extend_schema(request=SignupInputSerializer, responses={201: UserOutputSerializer}, tags=["auth"])
    def post(self, request):
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_signup(**data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    permission_classes = [AllowAny]
    throttle_scope = "auth"

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsAuthenticated()]
        return super().get_permissions()

    @extend_schema(request=TokenInputSerializer, responses={200: TokenOutputSerializer}, tags=["auth"])
    def post(self, request):
        from tenants.selectors import tenant_get_by_ref

        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant_ref = data.validated_data.pop("tenant", None)
        tenant = tenant_get_by_ref(tenant_ref) if tenant_ref else None
        token, raw = token_issue(**data.validated_data, tenant=tenant, request=request)
        return Response(TokenOutputSerializer({"token": raw, "expires_at": token.expires_at}).data)

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def delete(self, request):
        if not isinstance(request.auth, AuthToken):
            raise ApplicationError("Only a bearer token can be revoked here.", code="not_a_token_request")
        token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
