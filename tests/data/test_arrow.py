"""Text columns read through Arrow: the same values as pandas gives, whatever the chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from engagekit.data.arrow import blanked, dictionary_at, sorted_categorical

cells = st.one_of(st.none(), st.text(max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, max_size=6), min_size=1, max_size=5), st.data(), st.booleans())
def test_dictionary_codes_at_rows_of_a_chunked_text_column_are_pandas_values(chunks, data, as_text):
    # pd.concat keeps each part as an Arrow chunk; object columns take pandas' path
    column = pd.concat([pd.Series(chunk, dtype="str" if as_text else object) for chunk in chunks],
                       ignore_index=True)
    n = len(column)
    rows = np.array(data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=12 if n else 0)),
                    dtype=np.int64)
    codes, distinct = dictionary_at(column, rows)
    assert len(set(distinct)) == len(distinct)
    assert [None if code < 0 else distinct[code] for code in codes] == \
        [None if pd.isna(value) else value for value in column.iloc[rows]]


def _chunked(chunks):
    return pd.concat([pd.Series(chunk, dtype="str") for chunk in chunks], ignore_index=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, max_size=6), min_size=1, max_size=5))
def test_sorted_categorical_is_pandas_categorical_of_sorted_values(chunks):
    column = _chunked(chunks)
    column.index = column.index + 5  # the index is kept, whatever it is
    coded = sorted_categorical(column)
    expected = column.astype(object).where(column.notna(), None).astype("category")
    expected = expected.cat.reorder_categories(sorted(expected.cat.categories))
    assert list(coded.cat.categories) == list(expected.cat.categories)
    assert coded.cat.categories.dtype == "str"
    assert coded.cat.codes.tolist() == expected.cat.codes.tolist()
    assert coded.index.equals(column.index)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, max_size=6), min_size=1, max_size=5), st.data())
def test_blanked_is_pandas_where(chunks, data):
    column = _chunked(chunks)
    blank = np.array(data.draw(st.lists(st.booleans(), min_size=len(column), max_size=len(column))),
                     dtype=bool)
    out = blanked(column, blank)
    assert out.dtype == "str"
    assert out.equals(column.where(~blank))
