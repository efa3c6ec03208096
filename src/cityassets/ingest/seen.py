"""cityassets.ingest.seen: the match keys already seen in one file, exactly, in little memory.

The upload merges segment by segment, so a repeated key can no longer be found by one sort over
the whole staging table; the client keeps the set instead. A 16-digit asset code (the registry's
code format) is a 10-digit prefix (district + class) and a 6-digit serial; a file holds few
prefixes, so (prefix number x 10^6 + serial) fits a uint32 and the codes live in sorted numpy runs:
4 bytes a key, 20 MB for 5M, where a Python set of str costs ~100 MB per million. Any other key
(another scheme, or a file with more than 4,294 prefixes) goes to a set.
"""

from __future__ import annotations

import numpy as np

#: Largest sorted run (keys); further keys start new runs, so a merge never holds more than 2 x 4 MB.
RUN = 1 << 20
_SERIALS = 1_000_000
_PREFIXES = (2**32 - 1) // _SERIALS  # prefix numbers that keep the packed key inside a uint32


class SeenKeys:
    """First occurrence wins: `first(keys)` marks which keys were not seen before (and adds them)."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []  # sorted, disjoint uint32 runs
        self._prefixes: dict[int, int] = {}
        self._other: set[str] = set()

    def first(self, keys: list[str | None]) -> list[bool]:
        """One flag per key: True for a null key or one not seen earlier in the file."""
        flags = [True] * len(keys)
        at, packed = [], []
        prefixes, other = self._prefixes, self._other
        for i, k in enumerate(keys):
            if k is None:
                continue
            # ASCII only: int() would read other Unicode digits as the same number.
            if len(k) == 16 and k.isdigit() and k.isascii():
                prefix, serial = divmod(int(k), _SERIALS)
                number = prefixes.get(prefix)
                if number is None and len(prefixes) < _PREFIXES:
                    number = prefixes[prefix] = len(prefixes)
                if number is not None:
                    at.append(i)
                    packed.append(number * _SERIALS + serial)
                    continue
            if k in other:
                flags[i] = False
            else:
                other.add(k)
        if packed:
            arr = np.asarray(packed, dtype=np.uint32)
            _, where = np.unique(arr, return_index=True)
            fresh = np.zeros(len(arr), dtype=bool)
            fresh[where] = True  # the first of each key inside this batch
            for run in self._runs:
                pos = np.searchsorted(run, arr)
                fresh &= run[np.minimum(pos, len(run) - 1)] != arr
            for j in np.flatnonzero(~fresh).tolist():
                flags[at[j]] = False
            self._add(np.sort(arr[fresh]))
        return flags

    def _add(self, run: np.ndarray) -> None:
        """Keep few runs: merge neighbours while the newer is at least as long (amortised n log n)."""
        if not len(run):
            return
        self._runs.append(run)
        while (
            len(self._runs) > 1
            and len(self._runs[-1]) >= len(self._runs[-2])
            and len(self._runs[-1]) + len(self._runs[-2]) <= RUN
        ):
            newer = self._runs.pop()
            self._runs[-1] = np.sort(np.concatenate((self._runs[-1], newer)), kind="stable")
