import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def sample_dataset():
    """A small seeded sample workspace, generated once per test run."""
    from engagekit.data.sample import generate_sample

    return generate_sample(1500, seed=7)


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) for the whole test run: starting Spark takes seconds.

    Without pyspark or Java the Spark tests are skipped on a developer machine and fail in CI
    (``CI=true``), where ``.ci/run`` installs a Java runtime.
    """
    import os
    import shutil

    missing = None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing = "no Java runtime (java on PATH or JAVA_HOME)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing = "pyspark is not installed"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spark tests need a local Spark: {missing}")
        pytest.skip(missing)
    from engagekit.workspace.spark import local_spark

    session = local_spark(2, app_name="engagekit-tests")
    session.sparkContext.setLogLevel("ERROR")
    # test tables have a few rows: one shuffle partition saves most of each query's time
    session.conf.set("spark.sql.shuffle.partitions", "1")
    yield session
    session.stop()
