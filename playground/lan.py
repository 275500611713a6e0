"""The addresses students on the room's network type: this machine's LAN addresses, for `kubeplay --lan`."""

from __future__ import annotations

import socket

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def addresses() -> list[str]:
    """The address the default route leaves from first, then the host name's own; loopback left out."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            # A UDP connect sends nothing: it only makes the kernel pick the interface a packet would leave from.
            s.connect(("192.0.2.1", 9))
            found.append(s.getsockname()[0])
    except OSError:
        pass
    try:
        found += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    return [a for a in dict.fromkeys(found) if not a.startswith("127.") and a != "0.0.0.0"]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
