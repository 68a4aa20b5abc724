from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import ApplicationError
from common.proxies import client_ip

from .models import AuthToken
from .serializers import (SignupAcceptedSerializer, SignupInputSerializer, TokenInputSerializer,
                          TokenOutputSerializer)
from .services import token_issue, token_revoke, user_signup


SIGNUP_ACCEPTED = "Check your inbox: we have sent a message to this address."


class SignupApi(APIView):
    permission_classes = [AllowAny]  # credential limits: accounts/credential_limits.py

    @extend_schema(request=SignupInputSerializer, responses={202: SignupAcceptedSerializer}, tags=["auth"],
                   description="The same 202 whether or not the address has an account: a new address gets "
                               "its account (log in with POST /api/auth/token) and a welcome email; a taken "
                               "one gets an email saying someone tried to sign up with it.")
    def post(self, request):
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = user_signup(**data.validated_data, ip=client_ip(request))
        return Response({"email": email, "message": SIGNUP_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class TokenApi(APIView):
    permission_classes = [AllowAny]  # credential limits: accounts/credential_limits.py

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
