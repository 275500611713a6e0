"""Objects printed as kubectl's `-o json` and `-o yaml` print them.

`-o json` is Go's `json.MarshalIndent(obj, "", "    ")` of the decoded object: keys sorted, `<`, `>`, `&` and
U+2028/U+2029 escaped. `-o yaml` is sigs.k8s.io/yaml (go-yaml v2, libyaml's emitter): keys in go-yaml's order
(numbers inside keys compared as numbers, non-letters before letters), a string that would read back as something
else (a number, a bool, null, a time stamp) in double quotes, a string of several lines as a literal block, any
other string plain when it can be.
"""

from __future__ import annotations

import json
import re

import yaml

_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def to_json(obj) -> str:
    text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _HTML[m.group(0)], text) + "\n"


# --- go-yaml v2 -----------------------------------------------------------------------------------------------


def _key_order(key: str) -> tuple:
    """go-yaml v2 `keyList.Less` as a sort key: runs of digits compare as numbers (then by length), other
    characters by code point, a non-letter before a letter."""
    out = []
    for digits, other in re.findall(r"(\d+)|(\D)", key):
        if digits:
            out.append((1, int(digits), len(digits), ""))
        else:
            out.append((2 if other.isalpha() else 0, 0, 0, other))
    return tuple(out)


_BOOL_NULL = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
              "FALSE", "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "", "<<",
              ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"}
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_INT = re.compile(r"^[-+]?(0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)$")
_TIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[-+]\d\d:\d\d)?)?$")


def _reads_as_other(s: str) -> bool:
    """Would go-yaml v2 resolve this plain scalar to anything but a string?"""
    return bool(s in _BOOL_NULL or _FLOAT.match(s) or _INT.match(s) or _BASE60.match(s) or _TIME.match(s))


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, s: str):
    if "\n" in s:
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|")
    if _reads_as_other(s):
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", s)


def _dict(dumper: yaml.SafeDumper, d: dict):
    return dumper.represent_mapping("tag:yaml.org,2002:map", sorted(d.items(), key=lambda kv: _key_order(kv[0])))


_Dumper.add_representer(str, _str)
_Dumper.add_representer(dict, _dict)


def to_yaml(obj) -> str:
    return yaml.dump(obj, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)
