"""rowreader's queries on PostgreSQL: its tests (tests/test_rowreader.py) run again there, in a pytest of their own
with DATABASE_URL set. What each query shape and `Prepared` query compiles, and how its values are passed (an
`__in` list as one array parameter), is the backend's own, so the SQLite run alone does not show it.
Skips, saying why, where PostgreSQL is absent; `.ci/run` makes that a failure."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest

from tests import processes
from tests.test_scaleout import DATABASE_URL, unavailable

pytestmark = pytest.mark.scaleout


@pytest.mark.timeout(600)
def test_rowreader_reads_on_postgresql_what_the_orm_reads(tmp_path):
    processes.require_services(unavailable())
    # pytest-django makes (and drops) its test database beside this name.
    db_url = urlparse(DATABASE_URL)._replace(path=f"/kubeplay_rowreader_{uuid.uuid4().hex[:10]}").geturl()
    env = processes.base_env(tmp_path, DATABASE_URL=db_url)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests/test_rowreader.py"], cwd=processes.ROOT,
                         env=env, capture_output=True, text=True, timeout=540)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    collected = re.search(r"(\d+) passed", out)
    assert collected and int(collected.group(1)) >= 7 and not re.search(r"\d+ (skipped|failed|error)", out), out[-2000:]
