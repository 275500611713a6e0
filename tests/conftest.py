import pytest

from cluster_core import clock, names, nudge


@pytest.fixture
def fake_clock():
    fc = clock.FakeClock()
    clock.use(fc)
    names.seed(42)
    yield fc
    clock.use(clock.SystemClock())


@pytest.fixture
def quiet_nudges():
    """Tests drive the loops themselves: no channel messages."""
    nudge.ENABLED = False
    yield
    nudge.ENABLED = True


@pytest.fixture
def cluster(db, fake_clock, quiet_nudges):
    """The seed's cluster, booted and converged, at tempo realtime with an injected clock."""
    from cluster_core.bootstrap import create_playground

    return create_playground("default", tempo="realtime")



def pytest_sessionfinish(session):
    """The test database is removed at the end, but SQLite leaves its WAL and shared-memory files beside it."""
    from pathlib import Path

    from django.conf import settings

    if not settings.configured:
        return
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name:
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
