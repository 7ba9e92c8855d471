"""Text columns as Arrow arrays, for the vectorised reading of millions of cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


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


def arrow_strings_at(values: pd.Series, rows: np.ndarray) -> pa.Array:
    """``arrow_strings(values.iloc[rows])``, with the rows taken by Arrow when the column is held
    by Arrow: pandas' own take of such a column costs several times more at millions of rows.

    Examples
    --------
    >>> arrow_strings_at(pd.Series(["a", None, "c"], dtype="str"), np.array([2, 0])).to_pylist()
    ['c', 'a']
    """
    if values.dtype != "str":
        return arrow_strings(values.iloc[rows])
    taken = pc.take(pa.array(values), pa.array(np.asarray(rows, dtype=np.int64)))
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken


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


__all__ = ["arrow_strings", "arrow_strings_at", "text_in_one_chunk"]
