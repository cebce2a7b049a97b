from .scope import ALL, is_office, scope_prefixes


def navigation(request):
    """The user's top org units for the navigation bar (where 'my area' starts)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    prefixes = scope_prefixes(user, "view")
    return {
        "nav_is_global": prefixes is ALL,
        "nav_can_manage": bool(scope_prefixes(user, "manage")),
        # An expert's login sees the menu of what an expert uses (their page, projects, activities, problems).
        "nav_office": is_office(user),
    }
