"""Text columns as Arrow arrays, for the vectorised reading of millions of cells."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def arrow_strings(values: pd.Series) -> pa.Array:
    """A text column as one contiguous Arrow string array (blanks as nulls).

    pandas keeps a large text column in several chunks; the kernels used on it (dictionary
    encoding, lookups) want a single array.

    Examples
    --------
    >>> arrow_strings(pd.Series(["open", None])).to_pylist()
    ['open', None]
    """
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = pa.array(values.astype("str").where(values.notna()), type=pa.string(), from_pandas=True)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
    return array


def text_in_one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column held as one Arrow array (in place; returned too).

    A table read from Parquet keeps a text column in one chunk per row group, and taking a few of
    its rows joins every chunk first: a second per lookup at tens of millions of rows. A table
    read once and looked up often is joined once.

    Examples
    --------
    >>> frame = pd.concat([pd.DataFrame({"a": ["x"]}), pd.DataFrame({"a": ["y"]})], ignore_index=True)
    >>> text_in_one_chunk(frame)["a"].tolist()
    ['x', 'y']
    """
    for column in frame.columns:
        if frame[column].dtype == "str":
            frame[column] = pd.array(arrow_strings(frame[column]), dtype=frame[column].dtype)
    return frame


__all__ = ["arrow_strings", "text_in_one_chunk"]
