"""A corpus of hostile request bodies, kept as regression cases: `cases.json` names each body (a file here, or a
`repeat` recipe [prefix, unit, times, suffix] for the huge ones), the request that sends it and the answer due."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def cases() -> list[dict]:
    out = []
    for case in json.loads((HERE / "cases.json").read_text()):
        if "repeat" in case:
            prefix, unit, times, suffix = case["repeat"]
            body = (prefix + unit * times + suffix).encode()
            label = f"{unit[:8]}x{times}"
        else:
            body = (HERE / case["file"]).read_bytes()
            label = case["file"]
        out.append({**case, "body": body, "label": f"{case['method']} {label} {case['content_type']}"})
    return out
