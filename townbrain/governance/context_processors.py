from .models import Notification


def bell(request):
    """The navbar bell's unread count, lazily: pages that never show the bell run no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread():
        return Notification.objects.filter(user=user, read_at__isnull=True).count()

    return {"events_unread": unread}
