"""Text columns as Arrow arrays, for the vectorised reading of millions of cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engagekit.data.sorting import stable_order


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


def sorted_categorical(values: pd.Series) -> pd.Series:
    """A text column (pandas ``str``) as a categorical of its distinct values in sorted order,
    blanks staying blank: Arrow codes the millions of cells, and only the distinct values are
    sorted (Arrow's byte order of UTF-8 text is Python's order of the characters).

    Examples
    --------
    >>> coded = sorted_categorical(pd.Series(["open", None, "click", "open"], dtype="str"))
    >>> coded.cat.codes.tolist(), list(coded.cat.categories)
    ([1, -1, 0, 1], ['click', 'open'])
    """
    encoded = pc.dictionary_encode(arrow_strings(values))
    order = pc.array_sort_indices(encoded.dictionary)
    rank = np.empty(len(order), dtype=np.int32)
    rank[order.to_numpy()] = np.arange(len(order), dtype=np.int32)
    indices = encoded.indices
    codes = rank[pc.fill_null(indices, 0).to_numpy()] if len(rank) else np.zeros(len(indices), np.int32)
    if indices.null_count:
        codes[indices.is_null().to_numpy(zero_copy_only=False)] = -1
    categories = pd.Index(pd.array(encoded.dictionary.take(order), dtype="str"))
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories)),
                     index=values.index, name=values.name)


def blanked(values: pd.Series, blank: np.ndarray) -> pd.Series:
    """A text column (pandas ``str``) with the cells where ``blank`` holds made blank, by Arrow
    (pandas' ``where`` on Arrow-backed text costs several times more).

    Examples
    --------
    >>> blanked(pd.Series(["a", "", "c"], dtype="str"), np.array([False, True, False])).tolist()
    ['a', nan, 'c']
    """
    cells = pa.array(values.array)
    out = pc.if_else(pa.array(blank, type=pa.bool_()), pa.scalar(None, cells.type), cells)
    return pd.Series(pd.array(out, dtype="str"), index=values.index, name=values.name)


def dictionary_at(values: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The text of ``values`` at ``rows`` (positions) as codes into its distinct values: the
    codes (-1 for a blank) in the order of ``rows``, and the distinct values.

    Millions of rows carry a handful of distinct texts, so a rule reads each once. The rows are
    taken by Arrow chunk by chunk, in ascending order, and only the codes are put back in the
    order asked: Arrow's own take of a chunked column joins every chunk first (a copy of the
    whole column per call), and pandas' take costs several times more.

    Examples
    --------
    >>> codes, distinct = dictionary_at(pd.Series(["a", None, "c", "a"], dtype="str"), np.array([3, 1, 2, 0]))
    >>> codes.tolist(), distinct
    ([0, -1, 1, 0], ['a', 'c'])
    """
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(values.dtype, pd.CategoricalDtype):  # codes already: take them
        return (values.cat.codes.to_numpy()[rows].astype(np.int64),
                [str(value) for value in values.cat.categories])
    if values.dtype != "str":
        return _encoded(arrow_strings(values.iloc[rows]))
    order, ascending = stable_order(rows.copy(), max(len(values), 1))
    array = pa.array(values)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    ends = np.cumsum([len(chunk) for chunk in chunks])
    cuts = np.searchsorted(ascending, ends)
    pieces = [chunk.take(pa.array(ascending[low:high] - (end - len(chunk))))
              for chunk, end, low, high in zip(chunks, ends, np.r_[0, cuts[:-1]], cuts, strict=True)
              if high > low]
    codes, distinct = _encoded(pa.concat_arrays(pieces) if pieces else pa.array([], type=array.type))
    back = np.empty_like(codes)
    back[order] = codes
    return back, distinct


def _encoded(array: pa.Array) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(array)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, [str(value) for value in encoded.dictionary.to_pylist()]


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


__all__ = ["arrow_strings", "blanked", "dictionary_at", "sorted_categorical", "text_in_one_chunk"]
