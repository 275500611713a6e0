"""The simulated container runtime's image catalogue: what each image weighs, how fast it starts, what it says."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

NGINX_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""

HTTPD_PAGE = "<html><body><h1>It works!</h1></body></html>\n"


@dataclass(frozen=True)
class Image:
    repository: str
    size_mb: int
    pull_seconds: float
    start_seconds: float
    port: int | None = None
    body: str = ""
    server: str = ""
    startup_log: tuple[str, ...] = field(default_factory=tuple)
    access_log: str = ""

    def page(self, hostname: str) -> str:
        """The body the server answers `/` with; some sample servers name the pod that answered."""
        return self.body.replace("{hostname}", hostname)


CATALOGUE: dict[str, Image] = {
    "nginx": Image(
        "nginx", 72, 3.0, 1.0, 80, NGINX_PAGE, "nginx/1.27.3",
        (
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
            "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
            "{ts} [notice] 1#1: using the \"epoll\" event method",
            "{ts} [notice] 1#1: nginx/1.27.3",
            "{ts} [notice] 1#1: start worker processes",
        ),
        '{client} - - [{clf}] "GET {path} HTTP/1.1" 200 615 "-" "{agent}" "-"',
    ),
    "httpd": Image(
        "httpd", 58, 2.5, 1.0, 80, HTTPD_PAGE, "Apache/2.4.62 (Unix)",
        (
            "AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using {ip}. "
            "Set the 'ServerName' directive globally to suppress this message",
            "[{apache}] [mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.62 (Unix) configured -- resuming "
            "normal operations",
            "[{apache}] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'",
        ),
        '{client} - - [{clf}] "GET {path} HTTP/1.1" 200 45',
    ),
    "redis": Image("redis", 45, 2.0, 0.5, 6379, "", "", ("1:M {ts} * Ready to accept connections tcp",)),
    # The sample app of the kubernetes.io "Kubernetes Basics" tutorial: it answers with the pod's hostname.
    "gcr.io/google-samples/kubernetes-bootcamp": Image(
        "gcr.io/google-samples/kubernetes-bootcamp", 70, 3.0, 0.5, 8080,
        "Hello Kubernetes bootcamp! | Running on: {hostname} | v=1\n", "node",
        ("Kubernetes Bootcamp App Started At: {ts} | Running On:  {hostname} \n",),
    ),
    "busybox": Image("busybox", 2, 0.5, 0.3),
    "alpine": Image("alpine", 3, 0.5, 0.3),
    "tomcat": Image("tomcat", 190, 6.0, 3.0, 8080, "<html><body><h1>Apache Tomcat</h1></body></html>\n", "Tomcat"),
    "mysql": Image("mysql", 170, 6.0, 4.0, 3306),
    "coredns/coredns": Image("coredns/coredns", 14, 1.0, 0.5, 53),
    "registry.k8s.io/coredns/coredns": Image("registry.k8s.io/coredns/coredns", 14, 1.0, 0.5, 53),
    "registry.k8s.io/pause": Image("registry.k8s.io/pause", 1, 0.2, 0.1),
    # The node agents the seed runs as DaemonSets.
    "registry.k8s.io/kube-proxy": Image("registry.k8s.io/kube-proxy", 31, 1.5, 0.5),
    "flannel/flannel": Image("flannel/flannel", 33, 1.5, 0.5),
}


@functools.lru_cache(maxsize=1024)
def repository(image: str) -> str:
    """`docker.io/library/nginx:1.27` → `nginx`."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        ref = ref.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
    return ref


def lookup(image: str) -> Image | None:
    return CATALOGUE.get(repository(image))


def known_names() -> list[str]:
    return sorted(k for k in CATALOGUE if "/" not in k)
