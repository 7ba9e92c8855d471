"""Large arrays served from the heap for a heavy pass: glibc's settings taken once, given back once."""

from __future__ import annotations

import threading
from unittest.mock import patch

import numpy as np

from engagekit.data import memory


class RecordingLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, option, value):
        self.calls.append(("mallopt", option, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def test_nested_passes_keep_memory_until_the_outermost_ends_then_give_free_pages_back():
    libc = RecordingLibc()
    with patch.object(memory, "_LIBC", libc):
        with memory.reused_memory():
            kept = list(libc.calls)
            with memory.reused_memory():
                assert libc.calls == kept  # already kept: nothing set again
            assert libc.calls == kept
        given_back = libc.calls[len(kept):]
    assert kept == [("mallopt", option, value) for option, value in memory._KEPT.items()]
    assert given_back == [*(("mallopt", option, value) for option, value in memory._USUAL.items()),
                          ("malloc_trim", 0)]


def test_passes_in_two_threads_give_memory_back_once_both_have_ended():
    libc = RecordingLibc()
    inside, release = threading.Barrier(2), threading.Event()

    def pass_():
        with memory.reused_memory():
            inside.wait()
            release.wait()

    with patch.object(memory, "_LIBC", libc):
        threads = [threading.Thread(target=pass_) for _ in range(2)]
        for thread in threads:
            thread.start()
        release.set()
        for thread in threads:
            thread.join()
    assert [call[0] for call in libc.calls].count("malloc_trim") == 1
    assert memory._depth == 0


def test_arrays_made_and_dropped_inside_a_pass_hold_their_values():
    with memory.reused_memory():
        sums = []
        for value in range(1, 4):
            array = np.full(8_000_000, value, dtype=np.int64)  # 64 MB: above glibc's mapping size
            sums.append(int(array.sum()))
            del array
    assert sums == [8_000_000, 16_000_000, 24_000_000]


def test_a_pass_elsewhere_than_glibc_changes_nothing():
    with patch.object(memory, "_LIBC", None), memory.reused_memory():
        assert memory._depth == 0
