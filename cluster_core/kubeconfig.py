"""A ready kubeconfig for one playground: CA data, the playground's token, context and namespace default."""

from __future__ import annotations

import base64

import yaml

from .models import Playground


def server_url() -> str:
    """The API's address as configured (KUBEPLAY_PUBLIC_HOST, the API port), never taken from a request."""
    from django.conf import settings

    host = settings.KUBEPLAY_PUBLIC_HOST or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"https://{host}:{settings.KUBEPLAY_API_PORT}"


def render(pg: Playground, server: str, ca_pem: bytes) -> str:
    name = f"kubeplay-{pg.slug}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": f"{server.rstrip('/')}/clusters/{pg.slug}",
            "certificate-authority-data": base64.b64encode(ca_pem).decode(),
        }}],
        "users": [{"name": name, "user": {"token": pg.token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)
