import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample_dataset():
    """A small seeded sample workspace, generated once per test run."""
    from engagekit.data.sample import generate_sample

    return generate_sample(1500, seed=7)
