import numpy as np
import pytest

from report_sweep import small_sweep  # noqa: F401  (one small sweep per session, for the report tests)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
