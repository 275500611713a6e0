"""What each image of the registry ships: an operating-system family, the programs on its PATH, its own
environment variables, the files it serves, and what its main process does when the pod gives no command.

Images outside the table get the Debian family's defaults: most images on Docker Hub are built on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import images

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# busybox's applets that a course reaches for.
BUSYBOX = frozenset({
    "sh", "ash", "echo", "printf", "env", "printenv", "hostname", "cat", "ls", "ps", "date", "true", "false",
    "pwd", "cd", "id", "whoami", "uname", "sleep", "wget", "nslookup", "head", "tail", "grep", "wc", "mkdir",
    "touch", "rm", "export", "exit", "which", "test", "[", "unset", "clear", "seq",
})
# A Debian image's base system: coreutils, dash as sh, bash, no procps, no network tools.
DEBIAN = frozenset({
    "sh", "bash", "echo", "printf", "env", "printenv", "hostname", "cat", "ls", "date", "true", "false", "pwd",
    "cd", "id", "whoami", "uname", "sleep", "head", "tail", "grep", "wc", "mkdir", "touch", "rm", "export", "exit",
    "which", "test", "[", "unset", "clear", "seq",
})
BUSYBOX_ROOT = ("bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sys", "tmp", "usr", "var")
ALPINE_ROOT = ("bin", "dev", "etc", "home", "lib", "media", "mnt", "opt", "proc", "root", "run", "sbin", "srv", "sys",
               "tmp", "usr", "var")
DEBIAN_ROOT = ("bin", "boot", "dev", "etc", "home", "lib", "lib64", "media", "mnt", "opt", "proc", "root", "run",
               "sbin", "srv", "sys", "tmp", "usr", "var")

DEBIAN_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""
ALPINE_RELEASE = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.21.0
PRETTY_NAME="Alpine Linux v3.21"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
"""

NGINX_CONF = """
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    sendfile        on;
    keepalive_timeout  65;

    include /etc/nginx/conf.d/*.conf;
}
"""
NGINX_DEFAULT_SITE = """server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""


@dataclass(frozen=True)
class Flavour:
    family: str  # busybox, alpine, debian
    programs: frozenset[str]
    root: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    files: dict[str, str] = field(default_factory=dict, hash=False)
    # The image's entrypoint and command (Docker's ENTRYPOINT and CMD).
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ("sh",)
    # The program names the main process serves forever under (a server), beside `sleep infinity` and the like.
    servers: frozenset[str] = frozenset()
    workdir: str = "/"

    def has(self, program: str) -> bool:
        return program.rsplit("/", 1)[-1] in self.programs


def _page(image: str) -> str:
    found = images.CATALOGUE.get(image)
    return found.body if found else ""


FLAVOURS: dict[str, Flavour] = {
    "busybox": Flavour("busybox", BUSYBOX, BUSYBOX_ROOT),
    "alpine": Flavour("alpine", BUSYBOX, ALPINE_ROOT, files={"/etc/os-release": ALPINE_RELEASE},
                      cmd=("/bin/sh",)),
    "nginx": Flavour(
        "debian", DEBIAN | {"curl", "nginx"}, DEBIAN_ROOT + ("docker-entrypoint.d", "docker-entrypoint.sh"),
        env=(("NGINX_VERSION", "1.27.3"), ("NJS_VERSION", "0.8.7"), ("NJS_RELEASE", "1~bookworm"),
             ("PKG_RELEASE", "1~bookworm"), ("DYNPKG_RELEASE", "1~bookworm")),
        files={"/usr/share/nginx/html/index.html": _page("nginx"),
               "/usr/share/nginx/html/50x.html": "<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n"
               "<body>\n<h1>An error occurred.</h1>\n</body>\n</html>\n",
               "/etc/nginx/nginx.conf": NGINX_CONF, "/etc/nginx/conf.d/default.conf": NGINX_DEFAULT_SITE},
        entrypoint=("/docker-entrypoint.sh",), cmd=("nginx", "-g", "daemon off;"), servers=frozenset({"nginx"}),
    ),
    "httpd": Flavour(
        "debian", DEBIAN | {"httpd", "httpd-foreground"}, DEBIAN_ROOT,
        env=(("HTTPD_PREFIX", "/usr/local/apache2"), ("HTTPD_VERSION", "2.4.62"),
             ("HTTPD_SHA256", "674188e7bf44ced82da8db522da946849e22080d73d16c93f7f4df89e25729ec"),
             ("HTTPD_PATCHES", "")),
        files={"/usr/local/apache2/htdocs/index.html": _page("httpd")},
        cmd=("httpd-foreground",), servers=frozenset({"httpd-foreground", "httpd"}), workdir="/usr/local/apache2",
    ),
    "kubernetes-bootcamp": Flavour(
        "debian", DEBIAN | {"curl", "wget", "ps", "node", "nslookup"}, DEBIAN_ROOT,
        env=(("NPM_CONFIG_LOGLEVEL", "info"), ("NODE_VERSION", "6.3.1")),
        files={"/server.js": "var http = require('http');\n"},
        cmd=("/bin/sh", "-c", "node server.js"), servers=frozenset({"node"}),
    ),
    "redis": Flavour("debian", DEBIAN | {"redis-server", "redis-cli"}, DEBIAN_ROOT,
                     entrypoint=("docker-entrypoint.sh",), cmd=("redis-server",),
                     servers=frozenset({"redis-server"}), workdir="/data"),
    "tomcat": Flavour("debian", DEBIAN | {"catalina.sh", "java"}, DEBIAN_ROOT, cmd=("catalina.sh", "run"),
                      servers=frozenset({"catalina.sh"}), workdir="/usr/local/tomcat"),
    "mysql": Flavour("debian", DEBIAN | {"mysqld", "mysql"}, DEBIAN_ROOT, entrypoint=("docker-entrypoint.sh",),
                     cmd=("mysqld",), servers=frozenset({"mysqld"})),
}
SERVE_FOREVER = frozenset({"coredns", "kube-proxy", "flanneld", "pause", "/pause", "/coredns", "/usr/local/bin/kube-proxy",
                           "/opt/bin/flanneld"})
DEBIAN_DEFAULT = Flavour("debian", DEBIAN, DEBIAN_ROOT, cmd=("bash",))
# Images without a shell at all: distroless servers.
NO_SHELL = Flavour("distroless", frozenset(), ("etc",), cmd=("/server",), servers=frozenset({"/server"}))
DISTROLESS = {"registry.k8s.io/pause", "coredns/coredns", "registry.k8s.io/coredns/coredns",
              "registry.k8s.io/kube-proxy", "flannel/flannel"}


def of(image: str) -> Flavour:
    repo = images.repository(image)
    if repo in FLAVOURS:
        return FLAVOURS[repo]
    if repo.rsplit("/", 1)[-1] in FLAVOURS:
        return FLAVOURS[repo.rsplit("/", 1)[-1]]
    if repo in DISTROLESS:
        return NO_SHELL
    return DEBIAN_DEFAULT
