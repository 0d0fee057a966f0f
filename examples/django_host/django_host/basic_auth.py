"""HTTP Basic authentication for the example host, so that ``curl -u name:password`` can call the routes.

The host's glue, not the app's: ``Authorization: Basic ...`` is checked against Django's auth backends for
that request only (no session). Wrong credentials leave the user anonymous, and a 401 says how to
authenticate. Basic sends the password in clear: HTTPS only, beyond localhost.
"""

import base64
import binascii
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse


class BasicAuthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                username = password = ""  # not Basic credentials at all: the user stays anonymous
            user = authenticate(request, username=username, password=password) if username else None
            if user is not None:
                request.user = user
        response = self.get_response(request)
        if response.status_code == 401 and not response.has_header("WWW-Authenticate"):
            response["WWW-Authenticate"] = 'Basic realm="profiler-rules example host"'
        return response
