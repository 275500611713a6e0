"""A snapshot of one running container, built from plain dicts (no database): what a process in it sees.

The environment is assembled as the kubelet does it: the Service variables for every Service of the pod's
namespace (and the master `kubernetes` Service) that existed when the pod started — `FOO_SERVICE_HOST`,
`FOO_SERVICE_PORT`, the Docker-link style `FOO_PORT_80_TCP…` — unless `enableServiceLinks` is false, then the
container's `envFrom` and `env` with ConfigMap and Secret references resolved (`env` wins over `envFrom`, a later
entry over an earlier one). Volumes mounted from ConfigMaps and Secrets appear as one file per key.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field

from . import flavours

CLUSTER_DOMAIN = "cluster.local"
DNS_IP = "10.96.0.10"


@dataclass
class Container:
    pod: str
    namespace: str
    name: str
    image: str
    pod_ip: str = ""
    node: str = ""
    env: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    # The main process's argv, as `ps` shows it.
    main: list[str] = field(default_factory=list)
    started: dt.datetime | None = None

    @property
    def flavour(self) -> flavours.Flavour:
        return flavours.of(self.image)

    @property
    def hostname(self) -> str:
        return self.pod[:63]


def at_time(c: Container, timeline, seconds: float) -> Container:
    """The container as its main process left it `seconds` into its run: the files it had written by then, less
    those it had removed."""
    files = dict(c.files)
    for t, path, text in timeline:
        if t > seconds:
            break
        if text is None:
            files.pop(path, None)
        else:
            files[path] = text
    return dataclasses.replace(c, files=files)


def _env_name(service: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", service.upper())


def service_env(services: list[dict]) -> list[tuple[str, str]]:
    """The variables the kubelet injects for these Services (ClusterIP ones), in the order it writes them."""
    out: list[tuple[str, str]] = []
    for svc in sorted(services, key=lambda s: s["metadata"]["name"]):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
        if not ip or ip == "None" or not ports:
            continue
        name = _env_name(svc["metadata"]["name"])
        first = ports[0]
        out.append((f"{name}_SERVICE_HOST", ip))
        out.append((f"{name}_SERVICE_PORT", str(first.get("port"))))
        for p in ports:
            if p.get("name"):
                out.append((f"{name}_SERVICE_PORT_{_env_name(p['name'])}", str(p.get("port"))))
        proto = (first.get("protocol") or "TCP").lower()
        out.append((f"{name}_PORT", f"{proto}://{ip}:{first.get('port')}"))
        for p in ports:
            proto_up = (p.get("protocol") or "TCP").upper()
            prefix = f"{name}_PORT_{p.get('port')}_{proto_up}"
            out += [(prefix, f"{proto_up.lower()}://{ip}:{p.get('port')}"), (f"{prefix}_PROTO", proto_up.lower()),
                    (f"{prefix}_PORT", str(p.get("port"))), (f"{prefix}_ADDR", ip)]
    return out


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return ""


def config_values(obj: dict | None, secret: bool) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's data decoded (with stringData, should a stored one keep it)."""
    if not obj:
        return {}
    if secret:
        out = {k: _decoded(v) for k, v in (obj.get("data") or {}).items()}
        out.update(obj.get("stringData") or {})
        return out
    return {k: str(v) for k, v in (obj.get("data") or {}).items()}


def container_env(container: dict, configmaps: dict[str, dict], secrets: dict[str, dict],
                  pod: dict | None = None) -> list[tuple[str, str]]:
    """`envFrom` then `env`, references resolved; a missing optional reference is left out."""
    values: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        if "configMapRef" in source:
            data = config_values(configmaps.get((source["configMapRef"] or {}).get("name", "")), False)
        elif "secretRef" in source:
            data = config_values(secrets.get((source["secretRef"] or {}).get("name", "")), True)
        else:
            continue
        for k, v in data.items():
            values[prefix + k] = v
    for var in container.get("env") or []:
        name = var.get("name")
        if not name:
            continue
        if "value" in var or "valueFrom" not in var:
            values[name] = _expand(str(var.get("value") or ""), values)
            continue
        ref = var.get("valueFrom") or {}
        if "configMapKeyRef" in ref:
            key = ref["configMapKeyRef"] or {}
            data = config_values(configmaps.get(key.get("name", "")), False)
        elif "secretKeyRef" in ref:
            key = ref["secretKeyRef"] or {}
            data = config_values(secrets.get(key.get("name", "")), True)
        elif "fieldRef" in ref:
            values[name] = _field(pod or {}, (ref["fieldRef"] or {}).get("fieldPath", ""))
            continue
        else:
            continue
        if key.get("key") in data:
            values[name] = data[key["key"]]
    return list(values.items())


def _expand(value: str, values: dict[str, str]) -> str:
    # `$(VAR)` refers to an earlier variable; `$$(VAR)` escapes it.
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else values.get(m.group(1), m.group(0)), value)


def _field(pod: dict, path: str) -> str:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    simple = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
              "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"), "status.podIP": status.get("podIP"),
              "status.hostIP": status.get("hostIP")}
    if path in simple:
        return simple[path] or ""
    m = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    return ""


def hosts_file(ip: str, hostname: str) -> str:
    return ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
            f"{ip}\t{hostname}\n")


def resolv_conf(namespace: str) -> str:
    return (f"search {namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\n"
            f"nameserver {DNS_IP}\noptions ndots:5\n")


def mounted_files(pod: dict, container: dict, configmaps: dict[str, dict],
                  secrets: dict[str, dict]) -> tuple[dict[str, str], set[str]]:
    """The files and directories of the container's volume mounts (ConfigMaps and Secrets: one file per key)."""
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)}
    files: dict[str, str] = {}
    dirs: set[str] = set()
    for mount in container.get("volumeMounts") or []:
        vol = volumes.get(mount.get("name")) or {}
        path = (mount.get("mountPath") or "").rstrip("/") or "/"
        if "configMap" in vol:
            src = vol["configMap"] or {}
            data = config_values(configmaps.get(src.get("name", "")), False)
        elif "secret" in vol:
            src = vol["secret"] or {}
            data = config_values(secrets.get(src.get("secretName", "")), True)
        else:
            dirs.add(path)
            continue
        items = src.get("items")
        if items:
            data = {i.get("path") or i.get("key"): data[i["key"]] for i in items if i.get("key") in data}
        sub = mount.get("subPath")
        if sub:
            if sub in data:
                files[path] = data[sub]
            continue
        dirs.add(path)
        for key, value in data.items():
            files[f"{path}/{key}"] = value
    return files, dirs


def snapshot(pod: dict, container_name: str, services: list[dict], configmaps: dict[str, dict],
             secrets: dict[str, dict], master: dict | None = None) -> Container:
    """The container `container_name` of `pod` (a Pod's JSON), given the Services of its namespace that existed
    when it started (plus the `kubernetes` Service of `default`), and the ConfigMaps and Secrets by name."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    c = next((c for c in spec.get("containers") or [] if c.get("name") == container_name), {})
    image = c.get("image") or ""
    flav = flavours.of(image)
    name = meta.get("name", "")
    ns = meta.get("namespace", "default")
    env: list[tuple[str, str]] = [("PATH", flavours.PATH), ("HOSTNAME", name[:63])]
    env += list(flav.env)
    own = container_env(c, configmaps, secrets, pod)
    links: list[tuple[str, str]] = []
    if spec.get("enableServiceLinks", True) is not False:
        links = service_env(services)
    elif master:
        links = service_env([master])
    if master and not any(k == "KUBERNETES_SERVICE_HOST" for k, _ in links):
        links = service_env([master]) + links
    # The container's own variables win over the injected ones of the same name.
    taken = {k for k, _ in own}
    env += own + [(k, v) for k, v in links if k not in taken]
    env.append(("HOME", "/root"))
    ip = status.get("podIP") or ""
    files = {"/etc/hostname": name[:63] + "\n", "/etc/hosts": hosts_file(ip, name[:63]),
             "/etc/resolv.conf": resolv_conf(ns), "/var/run/secrets/kubernetes.io/serviceaccount/namespace": ns}
    if flav.family == "debian":
        files["/etc/os-release"] = flavours.DEBIAN_RELEASE
    files.update(flav.files)
    mounted, dirs = mounted_files(pod, c, configmaps, secrets)
    files.update(mounted)
    started = None
    for cs in status.get("containerStatuses") or []:
        if cs.get("name") == container_name:
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
    from ..clock import parse_rfc3339

    return Container(pod=name, namespace=ns, name=container_name, image=image, pod_ip=ip,
                     node=spec.get("nodeName") or "", env=env, files=files, dirs=dirs,
                     main=main_argv(c, flav), started=parse_rfc3339(started))


def main_argv(container: dict, flav: flavours.Flavour) -> list[str]:
    """The container's main process: `command` replaces the image's entrypoint, `args` its command."""
    command = container.get("command")
    args = container.get("args")
    if command:
        return [str(a) for a in command] + [str(a) for a in args or []]
    return list(flav.entrypoint) + ([str(a) for a in args] if args is not None else list(flav.cmd))
