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
