"""Protobuf request bodies decode to exactly the JSON kubectl would have sent.

The kubectl cases capture the real protobuf body that kubectl POSTs and compare
its decoding with ``--dry-run=client -o json`` of the same command. No
normalisation is applied for the pinned kubectl 1.37: every command matches key
for key, including ``"status": {}``, ``"resources": {}`` and ``"strategy": {}``.
The one exception, for an older kubectl found on PATH, is the
``"creationTimestamp": null`` it prints (see ``_drop_null_creation_timestamps``).
"""

import http.server
import json
import os
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cluster_core.api.proto_schema import KINDS, MESSAGES
from cluster_core.api.protobuf import MAGIC, ProtobufError, _go_duration, _schema, decode


def _kubectl_path():
    # The venv's pinned kubectl first: an older one on PATH speaks older types.
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else shutil.which("kubectl")


def _drop_null_creation_timestamps(obj):
    """kubectl before 1.34 prints the zero metadata.creationTimestamp as null; 1.37 omits it.

    Its protobuf body carries the same empty Time either way, which the 1.37
    schema (``omitzero``) decodes to nothing, so the null is noise to compare away.
    """
    if isinstance(obj, dict):
        return {k: _drop_null_creation_timestamps(v) for k, v in obj.items()
                if not (k == "creationTimestamp" and v is None)}
    if isinstance(obj, list):
        return [_drop_null_creation_timestamps(v) for v in obj]
    return obj


KUBECTL = _kubectl_path()
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl binary not found on PATH or in the venv")


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records every request; answers 201 with a Status so kubectl exits 0."""

    requests: list = []

    def _record(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append((self.command, self.path, dict(self.headers), body))
        reply = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory):
    """Run kubectl against a recording server with nothing of the user's environment."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = tmp_path_factory.mktemp("home")
    env = {"HOME": str(home), "KUBECONFIG": os.devnull, "PATH": os.defpath}
    base = [KUBECTL, f"--server=http://127.0.0.1:{server.server_address[1]}", "--insecure-skip-tls-verify"]

    def run(args):
        _Recorder.requests = []
        result = subprocess.run(base + args, env=env, capture_output=True, text=True, timeout=60)
        return result, list(_Recorder.requests)

    yield run
    server.shutdown()
    server.server_close()


CREATE_COMMANDS = [
    ["create", "deployment", "test1", "--image=nginx"],
    ["create", "deployment", "test1", "--image=nginx", "--replicas=3", "--port=80"],
    ["create", "service", "nodeport", "web", "--tcp=80:8080"],
    ["create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=443"],
    ["create", "namespace", "team-a"],
    ["create", "configmap", "cfg", "--from-literal=a=b"],
    ["create", "secret", "generic", "s", "--from-literal=k=v"],
    ["create", "job", "j", "--image=busybox"],
    ["create", "cronjob", "c", "--image=busybox", "--schedule=*/1 * * * *"],
    ["create", "quota", "q", "--hard=cpu=1,memory=1G,pods=2"],
    ["create", "ingress", "ing", "--rule=foo.com/bar=svc:8080,tls=sec"],
    ["create", "pdb", "p", "--selector=a=b", "--min-available=50%"],
]


@needs_kubectl
@pytest.mark.parametrize("args", CREATE_COMMANDS, ids=[" ".join(c[1:3]) for c in CREATE_COMMANDS])
def test_it_decodes_kubectl_create_bodies_like_the_dry_run_json(kubectl, args):
    result, requests = kubectl(args)
    posts = [r for r in requests if r[0] == "POST"]
    assert posts, f"kubectl sent no POST: rc={result.returncode} {result.stderr}"
    _method, _path, headers, body = posts[0]
    assert headers["Content-Type"] == "application/vnd.kubernetes.protobuf"
    assert body.startswith(MAGIC)

    # Dry-run flags go before the arguments so they never land after a `--`.
    dry, _ = kubectl(["--dry-run=client", "-o", "json", *args])
    assert dry.returncode == 0, dry.stderr
    assert decode(body) == _drop_null_creation_timestamps(json.loads(dry.stdout))


# --- hand-built bodies: types kubectl create never sends ---------------------


def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _msg(*fields):
    """Encode (number, value) pairs: ints/bools as varints, str/bytes length-delimited."""
    out = b""
    for num, value in fields:
        if isinstance(value, bool | int):
            out += _varint(num << 3) + _varint(int(value))
        else:
            data = value.encode() if isinstance(value, str) else value
            out += _varint(num << 3 | 2) + _varint(len(data)) + data
    return out


def _body(api_version, kind, raw):
    return MAGIC + _msg((1, _msg((1, api_version), (2, kind))), (2, raw), (3, ""), (4, ""))


NOV_26_2026 = _msg((1, 1795708466), (2, 0))


def _pod_body():
    cpu_limit = _msg((1, "cpu"), (2, _msg((1, "500m"))))  # map entry {key, Quantity}
    http_get = _msg((2, _msg((1, 1), (3, "http"))))  # port: IntOrString type 1 = string
    tcp_socket = _msg((1, _msg((1, 0), (2, 8080))))  # port: IntOrString type 0 = int
    container = _msg(
        (1, "web"),
        (2, "nginx"),
        (8, _msg((1, cpu_limit))),
        (10, _msg((1, _msg((2, http_get))), (2, 0))),  # initialDelaySeconds 0 is omitempty
        (11, _msg((1, _msg((3, tcp_socket))))),
        (16, False),
    )
    managed = _msg((1, "kubectl"), (2, "Update"), (3, "v1"), (4, NOV_26_2026), (6, "FieldsV1"),
                   (7, _msg((1, b'{"f:spec":{}}'))))
    meta = _msg((1, "p"), (3, "default"), (7, 0), (8, NOV_26_2026), (11, _msg((1, "app"), (2, "web"))),
                (17, managed))
    spec = _msg((2, container), (4, 0), (11, False), (25, -5))
    return _body("v1", "Pod", _msg((1, meta), (2, spec), (3, _msg())))


def test_it_decodes_times_quantities_int_or_string_and_pointer_zeros():
    assert decode(_pod_body()) == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "p",
            "namespace": "default",
            "creationTimestamp": "2026-11-26T15:54:26Z",
            "labels": {"app": "web"},
            "managedFields": [{
                "manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "time": "2026-11-26T15:54:26Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}},
            }],
        },
        "spec": {
            "containers": [{
                "name": "web",
                "image": "nginx",
                "resources": {"limits": {"cpu": "500m"}},
                "livenessProbe": {"httpGet": {"port": "http"}},
                "readinessProbe": {"tcpSocket": {"port": 8080}},
            }],
            # Pointers keep their zero / negative values; hostNetwork (non-pointer) drops false.
            "terminationGracePeriodSeconds": 0,
            "priority": -5,
        },
        "status": {},
    }


def test_it_decodes_an_autoscaling_v2_hpa():
    target = _msg((1, "Utilization"), (4, 50))
    metric = _msg((1, "Resource"), (4, _msg((1, "cpu"), (2, target))))
    behavior = _msg((2, _msg((2, _msg((1, "Percent"), (2, 100), (3, 15))), (3, 0))))
    spec = _msg((1, _msg((1, "Deployment"), (2, "web"), (3, "apps/v1"))), (2, 1), (3, 5), (4, metric), (5, behavior))
    status = _msg((1, 0), (3, 0), (4, 0))
    body = _body("autoscaling/v2", "HorizontalPodAutoscaler", _msg((1, _msg((1, "web"))), (2, spec), (3, status)))
    assert decode(body) == {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
            "behavior": {"scaleDown": {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                                       "stabilizationWindowSeconds": 0}},
        },
        # observedGeneration is a pointer and desiredReplicas has no omitempty: both keep 0;
        # currentMetrics has no omitempty either, so Go shows the nil slice as null.
        "status": {"observedGeneration": 0, "desiredReplicas": 0, "currentMetrics": None},
    }


def test_it_decodes_a_drain_eviction_with_its_delete_options():
    # kubectl drain's typed client posts policy/v1 Eviction as protobuf; gracePeriodSeconds is a pointer.
    options = _msg((1, 0), (2, _msg((1, "uid-1"))))
    body = _body("policy/v1", "Eviction", _msg((1, _msg((1, "web-1"), (3, "default"))), (2, options)))
    assert decode(body) == {
        "kind": "Eviction",
        "apiVersion": "policy/v1",
        "metadata": {"name": "web-1", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": 0, "preconditions": {"uid": "uid-1"}},
    }
    assert decode(_body("v1", "DeleteOptions", _msg((4, "Foreground"), (5, "All")))) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_it_has_a_schema_for_every_kind_and_referenced_message():
    assert set(KINDS.values()) <= set(MESSAGES)
    for message in MESSAGES:
        for name, flag, typ, _shape in _schema(message).values():
            assert name and flag in ("", "!", "?", "=", "^")
            assert typ in set("siby" "tTDnqxf") or typ in MESSAGES, f"{message}.{name}: {typ}"


def test_it_formats_durations_like_go():
    assert _go_duration(0) == "0s"
    assert _go_duration(1500) == "1.5µs"
    assert _go_duration(2_000_000) == "2ms"
    assert _go_duration(90 * 10**9) == "1m30s"
    assert _go_duration(3600 * 10**9) == "1h0m0s"
    assert _go_duration(-1_500_000_000) == "-1.5s"


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    b"",
    b'{"kind": "Pod", "apiVersion": "v1"}',
    b"k8s\x01" + _pod_body()[4:],
    MAGIC,
    _body("v1", "NoSuchKind", b""),
    _body("example.com/v1", "Pod", b""),
    MAGIC + _msg((1, _msg((1, "v1"), (2, "Pod"))), (2, b""), (3, "gzip")),
    _pod_body()[: len(_pod_body()) // 2],
    MAGIC + b"\xff\xff\xff",
    MAGIC + b"\x0f",  # wire type 7
], ids=["empty", "json", "wrong-magic", "magic-only", "unknown-kind", "unknown-group",
        "content-encoding", "truncated", "bad-varint", "bad-wire-type"])
def test_it_rejects_bodies_that_are_not_kubernetes_protobuf(body):
    with pytest.raises(ProtobufError):
        decode(body)


def test_it_rejects_non_bytes():
    with pytest.raises(ProtobufError):
        decode("k8s\x00")


def test_it_only_ever_raises_protobuf_error_on_fuzzed_input():
    rng = random.Random(1337)
    good = _pod_body()
    samples = [good[:cut] for cut in range(len(good))]
    samples += [MAGIC + rng.randbytes(rng.randrange(64)) for _ in range(500)]
    samples += [rng.randbytes(rng.randrange(64)) for _ in range(100)]
    for _ in range(1000):
        flipped = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(len(MAGIC), len(flipped))] = rng.randrange(256)
        samples.append(bytes(flipped))
    for sample in samples:
        try:
            result = decode(sample)
        except ProtobufError:
            continue
        # Some mutations are still valid protobuf (e.g. a changed string byte).
        assert isinstance(result, dict)
