"""Settings for every test and doctest (tests/ and the package's own docstring examples).

Figures drawn by a test or an example are closed after it, so that hundreds of ``.plot()`` examples never
pile up open figures (matplotlib would warn, and the suite turns warnings into errors).
"""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
