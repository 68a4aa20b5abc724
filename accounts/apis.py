from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from common.compat.drf import django_request
from common.proxies import client_ip

from .flows import (
    email_change_request,
    email_verification_resend,
    email_verify,
    password_change,
    password_reset_confirm,
    password_reset_request,
)
from .models import AuthToken
from .serializers import (
    AcceptedSerializer,
    EmailChangeInputSerializer,
    EmailVerifyInputSerializer,
    PasswordChangeInputSerializer,
    PasswordResetConfirmInputSerializer,
    PasswordResetInputSerializer,
    SignupAcceptedSerializer,
    SignupInputSerializer,
)
from .services import user_signup

SIGNUP_ACCEPTED = "Check your inbox: we have sent a message to this address."
RESET_ACCEPTED = "If this address has an account, a reset link is on its way."
EMAIL_CHANGE_ACCEPTED = "Follow the link sent to the new address; until then your address stays as it is."
VERIFY_ACCEPTED = "If your address is not verified yet, a new link is on its way."
RATE_LIMITED = (
    "`rate_limited`: too many requests for this address or from this client (details.retry_after, header Retry-After)"
)
LINK_TOKEN_ERRORS = "`token_invalid` (wrong, used or replaced), `token_expired`"


class SignupApi(APIView):
    error_codes = {  # beyond every route's codes (common/schema.py: STATUS_TEXT)
        # Signup never says whether an address is taken (202 either way; the address is told by email).
        "post": {429: RATE_LIMITED},
    }
    permission_classes = [AllowAny]  # credential limits: accounts/credential_limits.py

    @extend_schema(
        request=SignupInputSerializer,
        responses={202: SignupAcceptedSerializer},
        tags=["auth"],
        description="The same 202 whether or not the address has an account: a new address gets "
        "its account (log in with POST /api/auth/token) and a welcome email with its verification link; "
        "a taken one gets an email saying someone tried to sign up with it.",
    )
    def post(self, request):
        data = SignupInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = user_signup(**data.validated_data, ip=client_ip(request))
        return Response({"email": email, "message": SIGNUP_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetApi(APIView):
    error_codes = {"post": {429: RATE_LIMITED}}
    permission_classes = [AllowAny]

    @extend_schema(
        request=PasswordResetInputSerializer,
        responses={202: AcceptedSerializer},
        tags=["auth"],
        description="The same 202 whatever the address; an active account gets an email with a reset "
        "token (valid PASSWORD_RESET_TIMEOUT seconds, once).",
    )
    def post(self, request):
        data = PasswordResetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(email=data.validated_data["email"], ip=client_ip(request))
        return Response({"message": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    error_codes = {"post": {400: f"{LINK_TOKEN_ERRORS}, `validation_error` (details.password)"}}
    permission_classes = [AllowAny]

    @extend_schema(
        request=PasswordResetConfirmInputSerializer,
        responses={204: None},
        tags=["auth"],
        description="Sets the password; then every token, session and live connection of the user is revoked.",
    )
    def post(self, request):
        data = PasswordResetConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(APIView):
    error_codes = {
        "post": {
            400: "`wrong_password`, `validation_error` (details.new)",
            429: "`rate_limited`: too many wrong passwords (the login limits)",
        }
    }

    @extend_schema(
        request=PasswordChangeInputSerializer,
        responses={204: None},
        tags=["auth"],
        description="Signed in. Every other token, session and live connection of the user is revoked; "
        "the credential this request carries stays valid.",
    )
    def post(self, request):
        data = PasswordChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, AuthToken) else None
        session = getattr(django_request(request), "session", None)
        session_key = None if token is not None or session is None else session.session_key
        password_change(
            user=request.user,
            **data.validated_data,
            request=django_request(request),
            keep_token_id=token.pk if token else None,
            keep_session_key=session_key,
        )
        if session_key:  # the session in use stays signed in
            update_session_auth_hash(django_request(request), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyApi(APIView):
    error_codes = {"post": {400: LINK_TOKEN_ERRORS, 409: "`email_taken`: an email change to an address taken since"}}
    permission_classes = [AllowAny]  # the link may be opened where the user is not signed in

    @extend_schema(
        request=EmailVerifyInputSerializer,
        responses={204: None},
        tags=["auth"],
        description="Marks the address the token was sent to as verified (idempotent while the token is valid); "
        "a token from POST /api/auth/email makes its new address the account's (once).",
    )
    def post(self, request):
        data = EmailVerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email_verify(token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyResendApi(APIView):
    error_codes = {"post": {429: RATE_LIMITED}}

    @extend_schema(
        request=None,
        responses={202: AcceptedSerializer},
        tags=["auth"],
        description="Signed in: a new verification link by email (none when already verified).",
    )
    def post(self, request):
        email_verification_resend(user=request.user, ip=client_ip(request))
        return Response({"message": VERIFY_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class EmailChangeApi(APIView):
    error_codes = {
        "post": {
            400: "`wrong_password`, `validation_error`",
            429: "`rate_limited`: too many wrong passwords, or links to this address",
        }
    }

    @extend_schema(
        request=EmailChangeInputSerializer,
        responses={202: AcceptedSerializer},
        tags=["auth"],
        description="Signed in, the password confirms. The new address gets a verification link and becomes "
        "the account's only once it is followed (POST /api/auth/verify-email); the old one is then told. "
        "The same 202 when the new address already has an account (it gets no email).",
    )
    def post(self, request):
        data = EmailChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email_change_request(
            user=request.user, **data.validated_data, request=django_request(request), ip=client_ip(request)
        )
        return Response({"message": EMAIL_CHANGE_ACCEPTED}, status=status.HTTP_202_ACCEPTED)
