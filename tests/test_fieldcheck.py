"""Strict field validation: unknown fields and mistyped values, worded like the apiserver's decoder."""

import copy

import pytest

from cluster_core.api import fieldcheck, schemas

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "web",
        "namespace": "default",
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"},
        "creationTimestamp": None,
    },
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "env": [{"name": "MODE", "value": "prod"}],
                        "resources": {
                            "limits": {"cpu": "500m", "memory": "128Mi"},
                            "requests": {"cpu": 0.25},
                        },
                    }
                ],
                "terminationGracePeriodSeconds": 30,
            },
        },
    },
    "status": {
        "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-11-26T15:51:34Z"}]
    },
}


def deployment(**changes):
    obj = copy.deepcopy(DEPLOYMENT)
    for dotted, value in changes.items():
        node = obj
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    return obj


def test_it_accepts_a_well_formed_deployment():
    assert fieldcheck.check(DEPLOYMENT) == []


def test_it_reports_an_unknown_field_with_the_apiserver_wording():
    causes = fieldcheck.unknown_fields(deployment(spec__foo=1))
    assert causes == [
        {"reason": "FieldValueNotFound", "field": "spec.foo", "message": 'unknown field "spec.foo"'}
    ]
    assert fieldcheck.strict_error_message(causes) == 'strict decoding error: unknown field "spec.foo"'


def test_it_names_list_elements_by_index_and_lists_every_unknown_field_in_order():
    obj = deployment(spec__foo=1, spec__bar=2)
    obj["spec"]["template"]["spec"]["containers"][0]["imagee"] = "httpd"
    causes = fieldcheck.unknown_fields(obj)
    # Document order, as the decoder meets them: foo and bar were added after template.
    assert [c["field"] for c in causes] == ["spec.template.spec.containers[0].imagee", "spec.foo", "spec.bar"]
    assert fieldcheck.strict_error_message(causes) == (
        'strict decoding error: unknown field "spec.template.spec.containers[0].imagee", '
        'unknown field "spec.foo", unknown field "spec.bar"'
    )


def test_it_builds_the_bad_request_message_for_create_and_for_patch():
    causes = fieldcheck.check(deployment(spec__foo=1))
    assert fieldcheck.bad_request_message(causes, kind="Deployment", version="v1") == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"'
    )
    assert fieldcheck.bad_request_message(causes) == 'strict decoding error: unknown field "spec.foo"'
    assert fieldcheck.bad_request_message([]) is None


def test_it_reports_a_string_where_an_int32_is_expected_in_go_decoder_words():
    causes = fieldcheck.type_errors(deployment(spec__replicas="3"))
    assert causes == [
        {
            "reason": "FieldValueTypeInvalid",
            "field": "spec.replicas",
            "message": "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
        }
    ]


def test_it_prefers_type_errors_over_unknown_fields_in_the_message():
    causes = fieldcheck.check(deployment(spec__foo=1, spec__replicas="3"))
    assert fieldcheck.bad_request_message(causes) == (
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    )


def test_it_checks_integer_formats_and_ranges():
    obj = copy.deepcopy(DEPLOYMENT)
    port = obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    port["containerPort"] = 80.5
    obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2**63
    obj["spec"]["replicas"] = 2**31
    messages = {c["field"]: c["message"] for c in fieldcheck.type_errors(obj)}
    assert messages == {
        "spec.replicas": "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32",
        "spec.template.spec.containers[0].ports[0].containerPort": (
            "json: cannot unmarshal number 80.5 into Go struct field "
            "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
        ),
        "spec.template.spec.terminationGracePeriodSeconds": (
            f"json: cannot unmarshal number {2**63} into Go struct field "
            "PodSpec.spec.template.spec.terminationGracePeriodSeconds of type int64"
        ),
    }
    assert fieldcheck.check(deployment(spec__replicas=True))[0]["message"].startswith(
        "json: cannot unmarshal bool"
    )


def test_it_treats_labels_annotations_and_limits_as_maps():
    obj = copy.deepcopy(DEPLOYMENT)
    obj["metadata"]["labels"]["any-key.example.com/x"] = "y"
    obj["metadata"]["annotations"]["whatever"] = "z"
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 1
    assert fieldcheck.check(obj) == []
    obj["metadata"]["labels"]["n"] = 1
    assert fieldcheck.check(obj) == [
        {
            "reason": "FieldValueTypeInvalid",
            "field": "metadata.labels.n",
            "message": "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
        }
    ]


def test_it_checks_quantities():
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "12 potatoes"
    obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = True
    causes = fieldcheck.check(obj)
    assert [(c["reason"], c["field"]) for c in causes] == [
        ("FieldValueTypeInvalid", "spec.template.spec.containers[0].resources.limits.cpu"),
        ("FieldValueInvalid", "spec.template.spec.containers[0].resources.limits.memory"),
    ]
    assert causes[1]["message"].startswith("quantities must match the regular expression")


def test_it_accepts_int_or_string_both_ways_and_nothing_else():
    assert fieldcheck.check(deployment(spec__strategy__rollingUpdate__maxSurge=2)) == []
    causes = fieldcheck.check(deployment(spec__strategy__rollingUpdate__maxSurge=[1]))
    assert causes[0]["field"] == "spec.strategy.rollingUpdate.maxSurge"
    assert causes[0]["message"].endswith("of type intstr.IntOrString")


def test_it_checks_date_time_strings():
    obj = copy.deepcopy(DEPLOYMENT)
    obj["status"]["conditions"][0]["lastUpdateTime"] = "yesterday"
    assert fieldcheck.check(obj) == [
        {
            "reason": "FieldValueInvalid",
            "field": "status.conditions[0].lastUpdateTime",
            "message": 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
        }
    ]
    obj["status"]["conditions"][0]["lastUpdateTime"] = "2026-11-26T15:51:34.123+01:00"
    assert fieldcheck.check(obj) == []


def test_it_allows_null_for_optional_fields_only():
    assert fieldcheck.check(deployment(spec__paused=None, metadata__labels=None)) == []
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["template"]["spec"]["containers"] = None
    assert fieldcheck.check(obj) == [
        {
            "reason": "FieldValueRequired",
            "field": "spec.template.spec.containers",
            "message": "Required value",
        }
    ]


def test_it_leaves_free_form_objects_alone():
    revision = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {"name": "r"},
        "revision": 1,
        "data": {"anything": {"goes": [1, "two"]}},
    }
    assert fieldcheck.check(revision) == []
    managed = deployment(
        metadata__managedFields=[{"manager": "kubectl", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    )
    assert fieldcheck.check(managed) == []


def test_it_honours_preserve_unknown_fields_and_the_int_or_string_extension():
    schema = {
        "type": "object",
        "properties": {
            "open": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "x-kubernetes-preserve-unknown-fields": True,
            },
            "closed": {"type": "object", "properties": {"a": {"type": "string"}}},
            "port": {"x-kubernetes-int-or-string": True},
        },
    }
    value = {"open": {"a": "x", "b": 1}, "closed": {"a": "x", "b": 1}, "port": "http"}
    assert [c["field"] for c in fieldcheck.check_value(value, schema)] == ["closed.b"]
    assert fieldcheck.check_value({"port": 8080}, schema) == []
    assert fieldcheck.check_value({"port": 1.5}, schema)[0]["reason"] == "FieldValueTypeInvalid"


def test_it_checks_base64_data_of_secrets():
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"ok": "aGk=", "bad": "h!"},
    }
    assert fieldcheck.check(secret) == [
        {"reason": "FieldValueInvalid", "field": "data.bad", "message": "illegal base64 data at input byte 1"}
    ]


def test_it_knows_core_and_grouped_kinds_with_the_same_name():
    core_event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod"},
    }
    assert fieldcheck.check(core_event) == []
    assert (
        fieldcheck.unknown_fields(dict(core_event, apiVersion="events.k8s.io/v1"))[0]["field"]
        == "involvedObject"
    )


def test_it_refuses_kinds_it_has_no_schema_for():
    with pytest.raises(schemas.SchemaNotFound):
        fieldcheck.check({"apiVersion": "example.com/v1", "kind": "Widget"})
