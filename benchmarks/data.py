"""Benchmark data: the seeded 1M-contact workspace, generated once and cached under benchmarks/data/.

The cache holds the canonical tables as Parquet plus the activity index, which is the columnar copy
a workspace keeps beside its database.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd

from engagekit.data.activity import ActivityIndex
from engagekit.data.dataset import Dataset
from engagekit.data.sample import generate_sample
from engagekit.data.schema import TABLES

DATA_DIR = Path(__file__).parent / "data"
SEED = 11
END = "2026-11-30"


def dataset_dir(n_contacts: int) -> Path:
    return DATA_DIR / f"sample_{n_contacts}_seed{SEED}"


def ensure_dataset(n_contacts: int) -> Path:
    """Generate and cache the benchmark dataset once; return its folder."""
    folder = dataset_dir(n_contacts)
    if (folder / "done.json").exists():
        return folder
    print(f"Generating {n_contacts:,} contacts (once; cached in {folder})…", file=sys.stderr)
    started = time.perf_counter()
    dataset = generate_sample(n_contacts, seed=SEED, end=END, show_progress=True)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        getattr(dataset, name).to_parquet(folder / f"{name}.parquet", index=False)
    ActivityIndex.build(dataset).save(folder / "activity")
    (folder / "custom_fields.json").write_text(json.dumps(dataset.custom_fields))
    (folder / "done.json").write_text(json.dumps({
        "seconds": round(time.perf_counter() - started, 1), "events": len(dataset.email_events),
    }))
    return folder


def load_dataset(folder: Path) -> Dataset:
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    custom = json.loads((folder / "custom_fields.json").read_text())
    return Dataset.from_frames(**frames, custom_fields=custom)


def load_index(folder: Path) -> ActivityIndex:
    """The cached activity index, rebuilt when the library's index format has changed."""
    index = ActivityIndex.load(folder / "activity")
    if index is None:
        index = ActivityIndex.build(load_dataset(folder))
        index.save(folder / "activity")
    return index
