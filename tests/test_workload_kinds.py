"""The kinds a course uses beyond Deployments: ServiceAccounts made by their controller, Jobs run to completion,
CronJobs on a schedule scaled by the tempo, StatefulSets in order, ReplicationControllers, and the shared store
they are kept in."""

import datetime as dt
from types import SimpleNamespace

import pytest

from cluster_core import clock, cron, nudge, runtime, writes
from cluster_core.controllers import job as job_controller
from cluster_core.controllers import serviceaccount, statefulset
from cluster_core.models import (
    Change,
    CronJob,
    Job,
    Namespace,
    Pod,
    ServiceAccount,
    StatefulSet,
    StoredObject,
)

# --- pure --------------------------------------------------------------------------------------------------


def test_it_finds_the_next_minute_of_a_schedule():
    at = dt.datetime(2026, 11, 30, 4, 7, 30, tzinfo=dt.UTC)
    assert cron.next_after("*/5 * * * *", at) == dt.datetime(2026, 11, 30, 4, 10, tzinfo=dt.UTC)
    assert cron.next_after("@hourly", at) == dt.datetime(2026, 11, 30, 5, 0, tzinfo=dt.UTC)
    assert cron.next_after("0 9 * * tue", at) == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 30 Nov is a Monday


def test_it_names_what_is_wrong_with_a_schedule():
    assert cron.problem("*/1 * * * *") == ""
    assert cron.problem("61 * * * *") == "minute value out of range (0-59): 61"
    assert cron.problem("* * *") == "expected exactly 5 fields, found 3: * * *"


def pod(name, phase="Running", ready=True, deleting=False):
    return SimpleNamespace(name=name, phase=phase, deletion_timestamp=dt.datetime.now(dt.UTC) if deleting else None,
                           status={"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]})


def test_it_creates_statefulset_pods_one_at_a_time_lowest_first():
    assert statefulset.plan(3, {}, parallel=False).create == [0]
    assert statefulset.plan(3, {0: pod("web-0", ready=False)}, parallel=False).create == []
    assert statefulset.plan(3, {0: pod("web-0")}, parallel=False).create == [1]
    assert statefulset.plan(3, {}, parallel=True).create == [0, 1, 2]


def test_it_removes_statefulset_pods_highest_first_one_at_a_time():
    pods = {i: pod(f"web-{i}") for i in range(3)}
    assert statefulset.plan(0, pods, parallel=False).delete == [2]
    pods[2] = pod("web-2", deleting=True)
    assert statefulset.plan(0, pods, parallel=False).delete == []


def test_it_fails_a_job_past_its_backoff_limit():
    job = SimpleNamespace(spec={"completions": 1, "parallelism": 1, "backoffLimit": 1}, status={})
    failed = [pod("j-a", phase="Failed"), pod("j-b", phase="Failed")]
    assert job_controller.plan(job, failed, dt.datetime.now(dt.UTC), None).outcome == "Failed"


def test_it_waits_out_the_backoff_before_replacing_a_failed_pod():
    job = SimpleNamespace(spec={"completions": 1, "parallelism": 1, "backoffLimit": 6}, status={})
    now = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
    p = job_controller.plan(job, [pod("j-a", phase="Failed")], now, now - dt.timedelta(seconds=4))
    assert p.create == 0 and p.wait_until == now + dt.timedelta(seconds=6)
    assert job_controller.plan(job, [pod("j-a", phase="Failed")], now, now - dt.timedelta(seconds=10)).create == 1


# --- with the database -------------------------------------------------------------------------------------


@pytest.fixture
def pg(cluster):
    runtime.settle(cluster)
    return cluster


def create(pg, body):
    return writes.do_create(pg, body, "kubectl")


def busybox_job(name, **spec):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {"restartPolicy": "Never",
                                                   "containers": [{"name": name, "image": "busybox"}]}}}}


def test_it_gives_every_namespace_a_default_service_account(pg):
    namespaces = set(Namespace.objects.filter(playground=pg).values_list("name", flat=True))
    assert set(ServiceAccount.objects.filter(playground=pg, name="default").values_list("namespace", flat=True)) \
        == namespaces
    create(pg, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    runtime.settle(pg)
    assert ServiceAccount.objects.filter(playground=pg, namespace="demo", name="default").exists()
    assert serviceaccount.reconcile(pg, "demo") == 0


def test_it_makes_a_deleted_default_service_account_again(pg):
    writes.do_delete(pg, "ServiceAccount", "default", "default", "kubectl")
    assert not ServiceAccount.objects.filter(playground=pg, namespace="default").exists()
    runtime.settle(pg)
    assert ServiceAccount.objects.filter(playground=pg, namespace="default", name="default").exists()


def test_it_keeps_the_stored_kinds_in_one_table_apart_by_kind(pg):
    create(pg, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "default"}, "stringData": {"a": "b"}})
    assert StoredObject.objects.filter(playground=pg, namespace="default", name="default").count() == 2
    assert ServiceAccount.objects.get(playground=pg, namespace="default", name="default").KIND == "ServiceAccount"


def test_it_runs_a_job_to_completion(pg):
    create(pg, busybox_job("hello"))
    runtime.settle(pg)
    job = Job.objects.get(playground=pg, name="hello")
    assert job.status["succeeded"] == 1 and "active" not in job.status
    assert [c["type"] for c in job.status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert job.status["completionTime"] >= job.status["startTime"]
    (p,) = Pod.objects.filter(playground=pg, controller_uid=job.uid)
    assert p.phase == "Succeeded" and p.labels["job-name"] == "hello"
    assert p.status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert job_controller.reconcile(pg, "default/hello") == 0


def test_it_runs_completions_at_most_parallelism_at_a_time(pg):
    create(pg, busybox_job("batch", completions=3, parallelism=2))
    active_seen = []
    runtime.settle(pg, after_round=lambda _: active_seen.append(
        Pod.objects.filter(playground=pg, name__startswith="batch-").exclude(phase="Succeeded").count()))
    job = Job.objects.get(playground=pg, name="batch")
    assert job.status["succeeded"] == 3 and max(active_seen) == 2
    assert Pod.objects.filter(playground=pg, controller_uid=job.uid, phase="Succeeded").count() == 3


def test_it_starts_jobs_on_schedule_and_keeps_three_finished(pg):
    create(pg, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": busybox_job("tick")["spec"]}}})
    start = clock.now()
    runtime.settle(pg, horizon=300)
    cj = CronJob.objects.get(playground=pg, name="tick")
    jobs = list(Job.objects.filter(playground=pg, controller_uid=cj.uid))
    finished = [j for j in jobs if j.status.get("completionTime")]
    assert len(finished) == 3  # successfulJobsHistoryLimit
    assert len(jobs) - len(finished) <= 1  # the latest may still run when the time runs out
    assert cj.requeue_at is not None and cj.requeue_at > clock.parse_rfc3339(cj.status["lastScheduleTime"])
    made = Change.objects.filter(playground=pg, kind="Job", type="ADDED").count()
    assert made >= 4 and (clock.now() - start).total_seconds() <= 300 + 60


def test_it_stretches_a_schedule_in_slow_motion(pg):
    from cluster_core.controllers import cronjob

    last = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)
    assert cronjob.next_run("*/1 * * * *", last, cronjob.tempo_factor("classroom")) == last + dt.timedelta(minutes=4)
    assert cronjob.next_run("*/1 * * * *", last, cronjob.tempo_factor("instant")) == last + dt.timedelta(minutes=1)


def web_statefulset(replicas):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


def test_it_scales_a_statefulset_up_in_order_each_after_the_previous_is_ready(pg):
    create(pg, web_statefulset(0))
    runtime.settle(pg)
    sts = StatefulSet.objects.get(playground=pg, name="web")
    body = sts.to_k8s()
    body["spec"]["replicas"] = 3
    writes.do_update(pg, body, "kubectl")
    runtime.settle(pg)
    pods = Change.objects.filter(playground=pg, kind="Pod", name__startswith="web-")
    added = [c.name for c in pods.filter(type="ADDED").order_by("revision")]
    assert added == ["web-0", "web-1", "web-2"]
    for before, after in (("web-0", "web-1"), ("web-1", "web-2")):
        ready = min(c.revision for c in pods.filter(name=before, type="MODIFIED")
                    if c.object["status"].get("phase") == "Running")
        assert ready < pods.get(name=after, type="ADDED").revision
    web1 = Pod.objects.get(playground=pg, name="web-1")
    assert web1.spec["hostname"] == "web-1" and web1.spec["subdomain"] == "nginx"
    assert StatefulSet.objects.get(playground=pg, name="web").status["readyReplicas"] == 3


def test_it_scales_a_statefulset_down_highest_ordinal_first(pg):
    create(pg, web_statefulset(3))
    runtime.settle(pg)
    body = StatefulSet.objects.get(playground=pg, name="web").to_k8s()
    body["spec"]["replicas"] = 1
    writes.do_update(pg, body, "kubectl")
    runtime.settle(pg)
    gone = [c.name for c in Change.objects.filter(playground=pg, kind="Pod", type="DELETED").order_by("revision")]
    assert gone == ["web-2", "web-1"]
    assert list(Pod.objects.filter(playground=pg, name__startswith="web-").values_list("name", flat=True)) == ["web-0"]


def test_it_runs_a_replication_controller_through_the_replicaset_loop(pg):
    create(pg, {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"},
                "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "old"}},
                                                     "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}})
    runtime.settle(pg)
    pods = Pod.objects.filter(playground=pg, labels__app="old")
    assert pods.count() == 2 and all(p.phase == "Running" for p in pods)
    assert all(p.owner_references[0]["kind"] == "ReplicationController" for p in pods)


def test_it_gives_each_statefulset_pod_a_dns_name_through_the_headless_service(pg):
    from cluster_core.shells import world

    create(pg, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx"},
                "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]}})
    create(pg, web_statefulset(2))
    runtime.settle(pg)
    web1 = Pod.objects.get(playground=pg, name="web-1")
    net = world.ClusterNetwork(pg, world.snapshot(pg, Pod.objects.get(playground=pg, name="web-0"), "nginx"))
    assert net.lookup("web-1.nginx") == ("web-1.nginx.default.svc.cluster.local", web1.status["podIP"])
    assert net.lookup("web-1.nginx.default.svc.cluster.local")[1] == web1.status["podIP"]
    assert net.lookup("web-7.nginx") is None


def test_it_fails_a_job_whose_pods_keep_failing_after_backing_off(pg):
    body = busybox_job("flaky", backoffLimit=1)
    body["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", "exit 1"]
    create(pg, body)
    runtime.settle(pg)
    job = Job.objects.get(playground=pg, name="flaky")
    assert job.status["failed"] == 2 and "succeeded" not in job.status
    assert [c["type"] for c in job.status["conditions"]] == ["FailureTarget", "Failed"]
    assert job.status["conditions"][-1]["reason"] == "BackoffLimitExceeded"
    pods = sorted(Pod.objects.filter(playground=pg, controller_uid=job.uid), key=lambda p: p.creation_timestamp)
    assert [p.phase for p in pods] == ["Failed", "Failed"]
    # The replacement waited out the back-off after the first pod failed.
    first_failed = job_controller._finished_at(pods[0])
    assert (pods[1].creation_timestamp - first_failed).total_seconds() >= job_controller.BACKOFF_FIRST


def test_it_rolls_a_new_template_out_highest_ordinal_first(pg):
    create(pg, web_statefulset(3))
    runtime.settle(pg)
    start = Change.objects.filter(playground=pg).order_by("-revision").values_list("revision", flat=True)[0]
    body = StatefulSet.objects.get(playground=pg, name="web").to_k8s()
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd"
    writes.do_update(pg, body, "kubectl set image")
    runtime.settle(pg)
    gone = [c.name for c in Change.objects.filter(playground=pg, kind="Pod", type="DELETED", revision__gt=start)
            .order_by("revision")]
    assert gone == ["web-2", "web-1", "web-0"]
    pods = Pod.objects.filter(playground=pg, name__startswith="web-")
    assert {p.spec["containers"][0]["image"] for p in pods} == {"httpd"} and pods.count() == 3
    status = StatefulSet.objects.get(playground=pg, name="web").status
    assert status["updatedReplicas"] == 3 and status["currentRevision"] == status["updateRevision"]


def test_it_keeps_pods_below_the_partition_on_the_old_template():
    old = {i: SimpleNamespace(**vars(pod(f"web-{i}")), labels={"controller-revision-hash": "web-old"})
           for i in range(3)}
    assert statefulset.plan(3, old, parallel=False, update_revision="web-new", partition=2).delete == [2]
    old[2].labels = {"controller-revision-hash": "web-new"}
    assert statefulset.plan(3, old, parallel=False, update_revision="web-new", partition=2).delete == []
    assert statefulset.plan(3, old, parallel=False, update_revision="web-new", partition=None).delete == []


def test_it_wakes_the_cronjob_controller_when_a_schedule_comes_due_unless_paused(pg):
    create(pg, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": busybox_job("tick")["spec"]}}})
    runtime.settle(pg, advance_clock=False)
    due = CronJob.objects.get(playground=pg, name="tick").requeue_at
    # What the ticker sends every tick, for every playground.
    assert (nudge.CRONJOB, "default/tick") not in runtime.stored_due_targets().get(pg.pk, set())
    clock.current().set(due)
    assert (nudge.CRONJOB, "default/tick") in runtime.stored_due_targets()[pg.pk]
    type(pg).objects.filter(pk=pg.pk).update(paused=True)
    assert pg.pk not in runtime.stored_due_targets()
