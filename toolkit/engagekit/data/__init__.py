"""Data: the canonical schema, the in-memory dataset, the activity index, readers, sample, safe CSV."""
