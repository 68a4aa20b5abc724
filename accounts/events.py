"""What the accounts app announces; higher apps react (emails: the signup emails).

accounts sits below emails, so it names what happened and never imports who cares.
"""
from django.dispatch import Signal

# Someone asked for an account with `email`. `user`: the account just made (sent inside
# its transaction), or None when the address already had one (sent after the attempt).
signup_requested = Signal()
