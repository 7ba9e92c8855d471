"""Run every benchmark and print their tables: ``make bench``.

Each benchmark measures engagekit against its baseline in the same run and writes its figures to
``benchmarks/results/``. Pass ``--contacts N`` to run them on a smaller dataset.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = ("bench_levels.py", "bench_in_database.py", "bench_segments.py", "bench_dashboard.py",
              "bench_browser.py", "bench_scale.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    failed = []
    for script in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        code = subprocess.call([sys.executable, str(HERE / script), "--contacts", str(args.contacts)])
        if code:
            failed.append(script)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
