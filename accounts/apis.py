from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.proxies import client_ip

from .serializers import SignupAcceptedSerializer, SignupInputSerializer
from .services import user_signup

SIGNUP_ACCEPTED = "Check your inbox: we have sent a message to this address."


class SignupApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        # Signup never says whether an address is taken (202 either way; the address is told by email).
        "post": {
            429: "`rate_limited`: too many signups for this address or from this client "
            "(details.retry_after, header Retry-After)"
        },
    }
    permission_classes = [AllowAny]  # credential limits: accounts/credential_limits.py

    @extend_schema(
        request=SignupInputSerializer,
        responses={202: SignupAcceptedSerializer},
        tags=["auth"],
        description="The same 202 whether or not the address has an account: a new address gets "
        "its account (log in with POST /api/auth/token) and a welcome email; a taken "
        "one gets an email saying someone tried to sign up with it.",
    )
    def post(self, request):
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = user_signup(**data.validated_data, ip=client_ip(request))
        return Response({"email": email, "message": SIGNUP_ACCEPTED}, status=status.HTTP_202_ACCEPTED)
