"""Keep scikit-learn's global metadata-routing flag from leaking between tests.

``import skada`` switches routing on globally; every test starts with it off
unless it turns it on itself.
"""

import pytest
import sklearn


@pytest.fixture(autouse=True)
def _routing_off_by_default():
    with sklearn.config_context(enable_metadata_routing=False):
        yield
