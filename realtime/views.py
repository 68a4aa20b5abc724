"""Browser pages of the realtime app (tenant hosts)."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required  # anonymous → /api-auth/login/?next=/live/; non-members were refused by the tenant middleware
def live_page(request):
    """The signed-in member's live event feed, over realtime/client.js."""
    return render(request, "realtime/live.html", {"tenant": request.tenant})
