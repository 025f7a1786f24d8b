import os

import numpy as np
import pytest

from report_sweep import small_sweep  # noqa: F401  (one small sweep per session, for the report tests)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from this checkout's run instead of comparing "
                          "with it (see tests/golden/README.md); review the diff before committing")


@pytest.fixture
def update_golden(request):
    return request.config.getoption("--update-golden")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true (as .ci/run runs) a skipped test fails, saying why it would have skipped:
    CI installs everything the suite needs (Chromium, the dask extra, git), so a skip there means
    something is missing, and would otherwise pass unnoticed in the "N passed" line."""
    _fail_a_skip_under_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped while collected (pytest.importorskip)."""
    _fail_a_skip_under_ci((yield).get_result())


def _fail_a_skip_under_ci(report):
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {reason}"
