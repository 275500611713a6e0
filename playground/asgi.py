import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402

django_asgi = get_asgi_application()


class KubernetesApiHandler(ASGIHandler):
    """The Kubernetes API's requests (over TLS, bearer-token authenticated): Django's handler and URLs without the
    page's middleware. The page's middleware (locale, CSRF, htmx, framing and content-security headers) has nothing
    to do for the API, and each of its steps ran on the process's one thread for sync code: a class's hundreds of
    kubectl requests queued there one step at a time."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response)


api_asgi = KubernetesApiHandler()

from playground.routing import application  # noqa: E402,F401
