"""Django views of the documents app (tenant hosts): the editor page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from common.errors import ApplicationError, application_error_response
from tenants.access import capability

from .selectors import READ, document_get_for_user


@capability("realtime")  # 403 feature_disabled when the tenant has real-time off (the socket would refuse it)
@login_required  # anonymous → /api-auth/login/?next=/docs/<id>; non-members were refused by the tenant middleware
def editor_page(request, document_id):
    """`/docs/<id>`: a textarea bound to the document's Y.Text `content` over /ws/docs/<id>
    (static/documents/editor.js), with the others in it. A document the user may not see is the
    API's 404 `document_not_found`; a viewer gets the page read-only."""
    try:
        document, access = document_get_for_user(document_id=document_id, user=request.user)
    except ApplicationError as exc:
        return application_error_response(exc)
    context = {
        "tenant": request.tenant,
        "document": document,
        "read_only": access == READ,
        "user_name": request.user.name or request.user.email,
    }
    return render(request, "documents/editor.html", context)
