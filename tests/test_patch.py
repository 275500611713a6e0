"""JSON patch, merge patch and strategic merge patch, with the bodies kubectl and the Python client send."""

import copy

import pytest

from cluster_core.api import schemas
from cluster_core.api.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

LIVE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {
        "name": "test1",
        "namespace": "default",
        "labels": {"app": "test1"},
        "annotations": {"deployment.kubernetes.io/revision": "1"},
        "finalizers": ["a.example.com/x"],
    },
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "test1"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {
            "metadata": {"labels": {"app": "test1"}},
            "spec": {
                "containers": [
                    {
                        "name": "nginx",
                        "image": "nginx",
                        "args": ["-g", "daemon off;"],
                        "ports": [
                            {"containerPort": 80, "protocol": "TCP"},
                            {"containerPort": 443, "protocol": "TCP"},
                        ],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "imagePullPolicy": "Always",
                    }
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
                "tolerations": [{"key": "a", "operator": "Exists"}],
                "restartPolicy": "Always",
            },
        },
    },
}


def live():
    return copy.deepcopy(LIVE)


def smp(patch, doc=None):
    return strategic_merge_patch(doc if doc is not None else live(), patch, "apps/v1", "Deployment")


def containers(doc):
    return doc["spec"]["template"]["spec"]["containers"]


# --- strategic merge patch -----------------------------------------------------------------------------------


def test_it_applies_kubectl_set_image():
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "httpd", "name": "nginx"}],
                }
            }
        }
    }
    result = smp(patch)
    expected = live()
    expected["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd"
    assert result == expected


def test_it_applies_kubectl_rollout_restart():
    patch = {
        "spec": {
            "template": {
                "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T15:51:34Z"}}
            }
        }
    }
    result = smp(patch)
    assert result["spec"]["template"]["metadata"] == {
        "labels": {"app": "test1"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-26T15:51:34Z"},
    }
    assert containers(result) == containers(LIVE)


def test_it_applies_the_client_side_apply_patch():
    last_applied = (
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"test1"}}\n'
    )
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"image": "nginx:1.28", "name": "nginx"}],
                }
            }
        },
    }
    result = smp(patch)
    assert result["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "kubectl.kubernetes.io/last-applied-configuration": last_applied,
    }
    assert containers(result)[0]["image"] == "nginx:1.28"
    assert containers(result)[0]["ports"] == containers(LIVE)[0]["ports"]


def test_it_orders_merged_elements_by_set_element_order_and_keeps_server_only_ones_in_place():
    doc = live()
    containers(doc)[:] = [
        {"name": "sidecar", "image": "envoy"},
        {"name": "a", "image": "a:1"},
        {"name": "b", "image": "b:1"},
    ]
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                    "containers": [{"name": "c", "image": "c:1"}, {"name": "a", "image": "a:2"}],
                }
            }
        }
    }
    result = smp(patch, doc)
    assert [(c["name"], c["image"]) for c in containers(result)] == [
        ("sidecar", "envoy"),
        ("b", "b:1"),
        ("c", "c:1"),
        ("a", "a:2"),
    ]


def test_it_reorders_with_set_element_order_alone():
    doc = live()
    containers(doc)[:] = [{"name": "a", "image": "a"}, {"name": "b", "image": "b"}]
    result = smp(
        {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}}}, doc
    )
    assert [c["name"] for c in containers(result)] == ["b", "a"]


def test_it_merges_ports_by_container_port_and_env_by_name():
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "ports": [{"containerPort": 443, "name": "https"}, {"containerPort": 8080}],
                            "env": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
                        }
                    ]
                }
            }
        }
    }
    nginx = containers(smp(patch))[0]
    assert nginx["ports"] == [
        {"containerPort": 80, "protocol": "TCP"},
        {"containerPort": 443, "protocol": "TCP", "name": "https"},
        {"containerPort": 8080},
    ]
    assert nginx["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "two"},
        {"name": "C", "value": "3"},
    ]


def test_it_replaces_lists_without_a_merge_strategy():
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "tolerations": [{"key": "b", "operator": "Exists"}],
                    "containers": [{"name": "nginx", "args": ["-v"]}],
                }
            }
        }
    }
    result = smp(patch)
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]
    assert containers(result)[0]["args"] == ["-v"]


def test_it_deletes_keys_set_to_null_and_list_elements_marked_delete():
    patch = {
        "metadata": {"labels": {"app": None}},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "nginx", "env": [{"name": "A", "$patch": "delete"}], "args": None}
                    ]
                }
            }
        },
    }
    result = smp(patch)
    assert result["metadata"]["labels"] == {}
    assert containers(result)[0]["env"] == [{"name": "B", "value": "2"}]
    assert "args" not in containers(result)[0]


def test_it_honours_patch_replace_and_delete_on_maps_and_lists():
    result = smp(
        {
            "spec": {
                "selector": {"$patch": "replace", "matchLabels": {"tier": "web"}},
                "strategy": {"$patch": "delete"},
                "template": {"spec": {"volumes": [{"$patch": "replace"}, {"name": "cache", "emptyDir": {}}]}},
            }
        }
    )
    assert result["spec"]["selector"] == {"matchLabels": {"tier": "web"}}
    assert "strategy" not in result["spec"]
    assert result["spec"]["template"]["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]


def test_it_honours_retain_keys_when_apply_switches_the_strategy():
    # What `kubectl apply` sends when the manifest changes strategy.type to Recreate.
    result = smp({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}})
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_it_honours_retain_keys_in_merged_volumes():
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {
                            "name": "data",
                            "configMap": {"name": "settings"},
                            "$retainKeys": ["configMap", "name"],
                        },
                    ]
                }
            }
        }
    }
    result = smp(patch)
    assert result["spec"]["template"]["spec"]["volumes"] == [
        {"name": "data", "configMap": {"name": "settings"}}
    ]


def test_it_merges_primitive_sets_and_deletes_from_them():
    result = smp({"metadata": {"finalizers": ["b.example.com/y", "a.example.com/x"]}})
    assert result["metadata"]["finalizers"] == ["b.example.com/y", "a.example.com/x"]
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/x"]}}, result)
    assert result["metadata"]["finalizers"] == ["b.example.com/y"]


def test_it_applies_the_python_clients_scale_patch():
    scale = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "py1", "namespace": "default", "resourceVersion": "7"},
        "spec": {"replicas": 1},
        "status": {"replicas": 1, "selector": "app=py1"},
    }
    result = strategic_merge_patch(scale, {"spec": {"replicas": 3}}, "autoscaling/v1", "Scale")
    assert result["spec"] == {"replicas": 3}
    assert result["status"] == scale["status"] and scale["spec"] == {"replicas": 1}


def test_it_never_mutates_its_inputs():
    doc, patch = (
        live(),
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "nginx", "env": [{"name": "C", "value": "3"}]}]}
                }
            }
        },
    )
    patch_before = copy.deepcopy(patch)
    result = smp(patch, doc)
    containers(result)[0]["env"].append({"name": "D"})
    assert doc == LIVE and patch == patch_before


def test_it_rejects_malformed_strategic_patches():
    with pytest.raises(PatchError, match="merge key"):
        smp({"spec": {"template": {"spec": {"containers": [{"image": "httpd"}]}}}})
    with pytest.raises(PatchError, match="unknown patch type"):
        smp({"spec": {"$patch": "explode"}})
    with pytest.raises(PatchError, match="must be a list"):
        smp({"spec": {"template": {"spec": {"$setElementOrder/containers": "nginx"}}}})
    with pytest.raises(PatchError, match="JSON object"):
        smp([{"op": "add"}])
    with pytest.raises(schemas.SchemaNotFound):
        strategic_merge_patch({}, {}, "example.com/v1", "Widget")


# --- JSON merge patch ----------------------------------------------------------------------------------------


def test_it_applies_kubectl_label_and_scale_merge_patches():
    result = merge_patch(live(), {"metadata": {"labels": {"tier": "web"}}})
    assert result["metadata"]["labels"] == {"app": "test1", "tier": "web"}
    assert merge_patch(live(), {"spec": {"replicas": 3}})["spec"]["replicas"] == 3


def test_it_follows_the_rfc_7386_examples():
    cases = [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ]
    for doc, patch, expected in cases:
        assert merge_patch(doc, patch) == expected, (doc, patch)


def test_it_merge_patches_lists_by_replacing_them():
    result = merge_patch(
        live(), {"spec": {"template": {"spec": {"containers": [{"name": "x", "image": "x"}]}}}}
    )
    assert containers(result) == [{"name": "x", "image": "x"}]
    assert containers(LIVE)[0]["name"] == "nginx"


# --- JSON patch ----------------------------------------------------------------------------------------------


def test_it_applies_kubectl_rollout_undo():
    template = {
        "metadata": {"labels": {"app": "test1"}},
        "spec": {
            "containers": [
                {
                    "name": "nginx",
                    "image": "nginx",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "Always",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        },
    }
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "2"},
        },
    ]
    doc = live()
    result = json_patch(doc, ops)
    assert result["spec"]["template"] == template
    assert result["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "2"}
    assert doc == LIVE
    result["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    assert "x" not in ops[0]["value"]["metadata"]["labels"]


def test_it_supports_every_operation_and_pointer_escapes():
    doc = {"metadata": {"annotations": {"a/b": "1", "m~n": "2"}}, "list": [1, 2, 3]}
    ops = [
        {"op": "test", "path": "/metadata/annotations/a~1b", "value": "1"},
        {"op": "replace", "path": "/metadata/annotations/m~0n", "value": "two"},
        {"op": "add", "path": "/metadata/annotations/kubectl.kubernetes.io~1restartedAt", "value": "now"},
        {"op": "add", "path": "/list/-", "value": 4},
        {"op": "add", "path": "/list/0", "value": 0},
        {"op": "remove", "path": "/list/2"},
        {"op": "copy", "from": "/list", "path": "/copy"},
        {"op": "move", "from": "/metadata/annotations/a~1b", "path": "/moved"},
        {"op": "test", "path": "/copy", "value": [0, 1, 3, 4]},
    ]
    assert json_patch(doc, ops) == {
        "metadata": {"annotations": {"m~n": "two", "kubectl.kubernetes.io/restartedAt": "now"}},
        "list": [0, 1, 3, 4],
        "copy": [0, 1, 3, 4],
        "moved": "1",
    }
    assert json_patch(doc, [{"op": "replace", "path": "", "value": {"x": 1}}]) == {"x": 1}


def test_it_rejects_patches_that_do_not_apply():
    doc = {"a": {"b": 1}, "list": [1], "flag": True}
    bad = [
        ([{"op": "test", "path": "/a/b", "value": 2}], "test operation failed"),
        ([{"op": "test", "path": "/flag", "value": 1}], "test operation failed"),
        ([{"op": "remove", "path": "/missing"}], "missing"),
        ([{"op": "replace", "path": "/a/c", "value": 1}], "missing"),
        ([{"op": "add", "path": "/x/y", "value": 1}], "missing"),
        ([{"op": "add", "path": "/list/5", "value": 1}], "out of bounds"),
        ([{"op": "add", "path": "/list/01", "value": 1}], "invalid array index"),
        ([{"op": "remove", "path": "/list/-"}], "invalid array index"),
        ([{"op": "add", "path": "a", "value": 1}], "must start with"),
        ([{"op": "add", "path": "/a~2", "value": 1}], "escape"),
        ([{"op": "move", "from": "/a", "path": "/a/b"}], "own child"),
        ([{"op": "add", "path": "/a"}], 'missing "value"'),
        ([{"op": "frobnicate", "path": "/a"}], "unknown json patch operation"),
        ({"op": "add"}, "JSON array"),
    ]
    for ops, message in bad:
        with pytest.raises(PatchError, match=message):
            json_patch(doc, ops)
    assert doc == {"a": {"b": 1}, "list": [1], "flag": True}
