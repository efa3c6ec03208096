"""A batch checked column by column (PropertyRules.columns) gives exactly what feature by feature (row) gives.

`columns` answers only when every feature has the same keys and breaks no rule; anything else goes through
`row`, the reference. So on random batches, valid and not: `columns` answers exactly when `row` finds no
issue in a batch of one key set, and then with the same typed values (type included), masks and classes.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from cityassets.catalogue import COLLECTIONS, Field
from cityassets.errors import Issue
from cityassets.ingest.properties import PropertyRules

ORGS = frozenset({"WATER", "LIGHT"})
_CANDIDATES = ["4101050101000001", "410105", "4101050101000001234", "ABC", "1"]


def _valid(f: Field, rnd: random.Random) -> Any:
    if f.ref == "organisations":
        return rnd.choice(sorted(ORGS))
    if f.enum:
        return rnd.choice(list(f.enum))
    if f.type == "string":
        if f.pattern:
            fits = [c for c in _CANDIDATES if re.fullmatch(f.pattern, c)]
            return rnd.choice(fits) if fits else None
        return rnd.choice(["井盖", "text", "a" * 30])
    if f.type == "integer":
        lo = int(f.minimum) if f.minimum is not None else -1000
        hi = int(f.maximum) if f.maximum is not None else 1000
        v = rnd.randint(lo, hi)
        return float(v) if rnd.random() < 0.2 else v  # a whole float is an integer too
    if f.type == "number":
        lo = f.minimum if f.minimum is not None else -1000
        hi = f.maximum if f.maximum is not None else 1000
        return rnd.randint(int(lo), int(hi)) if rnd.random() < 0.2 else rnd.uniform(lo, hi)
    if f.type == "boolean":
        return rnd.random() < 0.5
    if f.type == "date":
        return f"2026-{rnd.randint(1, 12):02d}-0{rnd.randint(1, 9)}"
    if f.type == "datetime":
        return "2026-10-01T10:00:00+08:00"
    return {"k": rnd.randint(0, 9)}


def _invalid(f: Field, rnd: random.Random) -> Any:
    by_type = {
        "string": ["zz-not-in-vocab", 5, "a\x00b", True, "x" * 20_000, "x" * 70_000, "字" * 22_000],
        "integer": [2**40, 1.5, True, "3", -(2**40)],
        "number": ["x", True, float("inf"), float("nan"), 1e9],
        "boolean": [1, "true", 0.0],
        "date": ["2026-13-01", 5, "soon"],
        "datetime": ["2026-10-01T10:00:00", 5],
        "object": [[1], "x", 3],
    }
    near = []  # just past a bound
    step = 1 if f.type == "integer" else 0.01
    if f.type in ("integer", "number") and f.minimum is not None:
        near.append(f.minimum - step)
    if f.type in ("integer", "number") and f.maximum is not None:
        near.append(f.maximum + step)
    return rnd.choice(by_type[f.type] + near * 3)


def _batch(rules: PropertyRules, rnd: random.Random, bad: float, same_keys: bool) -> list[dict[str, Any]]:
    """1-40 features; `bad`: the share of values that break a rule (a few more break others by chance)."""
    required = {name for _, name in rules.required}
    category = rules.fields[rules.category] if rules.category is not None else None
    cat = rnd.choice(list(category.enum)) if category is not None and category.enum else None
    # Fields of another category than the batch's are left out (they would break category_field).
    fields = [f for f in rules.fields if not f.categories or cat in f.categories]

    def keys() -> list[Field]:
        return [f for f in fields if rnd.random() < 0.3 or f.name in required or f is category]

    chosen = keys()
    unknown = rnd.random() < 0.05
    out = []
    for _ in range(rnd.randint(1, 40)):
        props = {}
        for f in chosen if same_keys else keys():
            r = rnd.random()
            if r < bad:
                props[f.name] = _invalid(f, rnd)
            elif f is category:
                props[f.name] = cat
            elif r < bad + 0.1 and f.name not in required:
                props[f.name] = None
            else:
                props[f.name] = _valid(f, rnd)
        if unknown:
            props["no_such_field"] = 1
        out.append(props)
    return out


def _typed(values: list[Any]) -> list[tuple[type, Any]]:
    return [(type(v), v) for v in values]


@pytest.mark.parametrize("collection", ["manholes", "toilets", "street_furniture", "green_spaces", "districts"])
def test_columns_agree_with_rows(collection, settings):
    rules = PropertyRules(COLLECTIONS[collection], settings, ORGS)
    rnd = random.Random(f"columns-{collection}")
    answered = 0
    for trial in range(300):
        props = _batch(rules, rnd, bad=rnd.choice([0.0, 0.0, 0.01, 0.1]), same_keys=trial % 4 != 0)
        issues: list[Issue] = []
        rows = [rules.row(p, k, issues) for k, p in enumerate(props)]
        clean = not issues and len({frozenset(p) for p in props}) == 1
        found = rules.columns(props)
        assert (found is not None) == clean, (issues[:3], props[:2])
        if found is None:
            continue
        answered += 1
        cols, mask, classes = found
        vocab = [i for i, f in enumerate(rules.fields) if f.enum]
        for k, (values, m, cls) in enumerate(rows):
            assert _typed([c[k] for c in cols]) == _typed(values)
            assert (m, cls) == (mask, classes[k])
            # Vocabulary values are the one shared string per value (memory of waiting segments).
            assert all(cols[i][k] is values[i] for i in vocab)
    assert answered >= 30  # the column path itself was exercised


class _Recorder:
    """Stands for the upload's IssueSink: keeps what batch_rows reports."""

    def __init__(self) -> None:
        self.got: list[tuple] = []

    def add(self, issues: list[Issue], kind: str = "rejected") -> None:
        self.got += [(i.index, i.code, i.field, i.rule, i.message) for i in issues]
        issues.clear()


def test_batch_rows_by_columns_equals_feature_by_feature(settings, monkeypatch):
    """Valid properties, broken geometries: the column path reports and stages exactly as the other."""
    from cityassets.ingest import pipeline
    from cityassets.ingest.geometry import GeometryBatch
    from tests.ingest.helpers import manhole

    rnd = random.Random(11)
    features = []
    for k in range(300):
        f = manhole(113.75 + rnd.random() * 0.05, 34.75 + rnd.random() * 0.05, f"4101050101{k:06d}")
        broken = rnd.random()
        if broken < 0.05:
            f["geometry"] = None
        elif broken < 0.1:
            f["geometry"]["coordinates"] = f["geometry"]["coordinates"][::-1]  # swapped: outside the city
        elif broken < 0.15:
            f["geometry"] = {"type": "LineString", "coordinates": [[113.75, 34.75], [113.76, 34.76]]}
        features.append(f)
    rules = PropertyRules(COLLECTIONS["manholes"], settings, frozenset({"WATER"}))

    def run() -> tuple[list[tuple], list[tuple], tuple[int, ...]]:
        sink = _Recorder()
        geoms = GeometryBatch("Point", "CRS84", 10_000)
        staged = pipeline.batch_rows(features, 7, rules, geoms, settings, sink)
        return _every_field(staged, len(rules.fields)), sink.got, staged.fields

    assert rules.columns([f["properties"] for f in features]) is not None  # the column path is taken
    *by_columns, fields = run()
    # The column path stages the fields the file gives and those with a default, the other all of them.
    assert len(fields) < len(rules.fields) and rules.position["asset_code"] in fields
    monkeypatch.setattr(pipeline, "_by_columns", lambda *args: None)
    *one_by_one, fields = run()
    assert fields == rules.all_fields and by_columns == one_by_one
    assert 0 < len(by_columns[1]) < 100 and len(by_columns[0]) + len(by_columns[1]) == 300


def _every_field(staged, n: int) -> list[tuple]:
    """Staged rows with a value for every field (None for those the rows do not carry: NULL once staged)."""
    out = []
    for row in staged.rows:
        values = [None] * n
        for k, i in enumerate(staged.fields):
            values[i] = row[3 + k]
        out.append((*row[:3], *values, *row[3 + len(staged.fields) :]))
    return out
