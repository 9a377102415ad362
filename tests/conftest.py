import matplotlib

matplotlib.use("Agg")  # no display in tests; notebooks use the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
