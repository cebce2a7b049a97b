import uuid

from .context import origin


class RequestContextMiddleware:
    """Give every request an id (echoed as X-Request-ID) that its audit rows carry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        source = "api" if request.path.startswith("/api/") else "web"
        with origin(source, request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
