"""notify(users, text, url): tell users something in the app and by e-mail, from any floor.

The navbar bell belongs to the governance app (a floor above projects and reporting); an app below
it must not import it. So a message goes out as the Django signal `notification` (sender: the app
label; users, text, url): governance stores it in the bell (a receiver connected in its
AppConfig.ready()); without that app the message still goes by e-mail, and the sender keeps its
own record (reporting.Reminder). E-mail goes
through Django's backend after the transaction commits, so a rolled-back step sends nothing.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import Signal

notification = Signal()  # kwargs: users, text, url


def notify(sender: str, users, text: str, url: str = "", *, email: bool = True) -> None:
    users = list(users)
    if not users:
        return
    notification.send(sender=sender, users=users, text=text, url=url)
    addresses = sorted({u.email for u in users if getattr(u, "email", "")})
    if email and addresses:
        link = getattr(settings, "TOWNBRAIN_BASE_URL", "") + url if url else ""
        body = f"{text}\n\n{link}" if link else text
        # One message each: the towns of a county must not see one another's addresses.
        transaction.on_commit(lambda: [send_mail(text[:150], body, None, [a], fail_silently=True)
                                       for a in addresses])
