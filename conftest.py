"""Test set-up: optional parts skipped when missing, routing kept off per test.

``import skada`` switches routing on globally; every test starts with it off
unless it turns it on itself.
"""

import importlib.util

import pytest
import sklearn

#: the skada adapter's module imports skada: without the extra installed its
#: doctests cannot be collected (tests/test_skada.py skips itself)
collect_ignore = [] if importlib.util.find_spec("skada") else ["skfpot/skada.py"]


@pytest.fixture(autouse=True)
def _routing_off_by_default():
    with sklearn.config_context(enable_metadata_routing=False):
        yield


@pytest.fixture
def wreck():
    """``wreck(factor)``: a skorch callback that scales every weight of the
    trained potential by ``factor`` at the very end of training, after the
    library's own checks (a broken map they did not see)."""
    import torch
    from skorch.callbacks import Callback

    class Wreck(Callback):
        def __init__(self, factor):
            self.factor = factor

        def on_train_end(self, net, **kwargs):
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.mul_(self.factor)

    return Wreck


#: doctests that read the Mix3toMix10 data
_W2BENCH_DOCTESTS = {"skfpot.datasets.Mix3toMix10", "skfpot.datasets.load_mix3tomix10"}


def pytest_collection_modifyitems(config, items):
    """Skip what needs the Mix3toMix10 data (``@pytest.mark.w2bench`` and two
    doctests) when no data directory is found, so that a clone without
    ``../shared/data`` still runs the rest of the suite."""
    from skfpot.datasets import _default_w2bench_dirs

    if any(path.is_dir() for path in _default_w2bench_dirs()):
        return
    skip = pytest.mark.skip(
        reason="Mix3toMix10 data directory not found (../shared/data/"
        "w2bench-mix3tomix10 or SKFPOT_W2BENCH_DIR)"
    )
    for item in items:
        if "w2bench" in item.keywords or item.name in _W2BENCH_DOCTESTS:
            item.add_marker(skip)
