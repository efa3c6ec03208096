"""cityassets.ingest.properties: fast per-feature property checks compiled once per upload.

Same rule names as single-feature writes (`cityassets.validation`), but compiled into one small
closure per field so a million features cost one dict walk each.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import orjson

from cityassets.catalogue import Collection, Field, class_code
from cityassets.errors import Issue
from cityassets.models.common import BOOKKEEPING
from cityassets.settings import Settings

INT32 = (-(2**31), 2**31 - 1)
#: Server-owned columns set by the upload itself, never taken from the file.
SERVER_SET = frozenset({"source_crs", "source_geometry"})


_REFUSED = object()


class Bad(Exception):
    """A value breaks a rule (raised by a field check, caught once per feature)."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule, self.message = rule, message


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, stopping once it passes `limit`."""
    stack, deepest = [(value, 1)], 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
        stack.extend((c, d + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _checker(f: Field, s: Settings) -> Callable[[Any], Any]:
    """One closure: JSON value -> typed value for the staging table, or raise Bad."""
    # Vocabulary values map to one shared string each: a waiting segment then holds one pointer
    # per value instead of a fresh copy from the parser (a third of a staged row's memory).
    enum = {v: v for v in f.enum} if f.enum else None
    pattern = re.compile(f.pattern) if f.pattern else None
    lo, hi = f.minimum, f.maximum
    code_rule = "asset_code_format" if f.name == "asset_code" else "pattern"
    max_bytes = s.max_property_bytes

    def bounded(v: float) -> float:
        if lo is not None and v < lo:
            raise Bad("minimum", f"{v} is below the minimum {lo}")
        if hi is not None and v > hi:
            raise Bad("maximum", f"{v} is above the maximum {hi}")
        return v

    if f.type == "string":

        def check(v: Any) -> Any:
            if type(v) is not str:
                raise Bad("type", f"expected a string, got {type(v).__name__}")
            if "\x00" in v:  # PostgreSQL text cannot hold NUL: refuse it here, per feature
                raise Bad("type", "NUL characters are not allowed in text")
            if len(v) > max_bytes // 4 and len(v.encode()) > max_bytes:
                raise Bad("max_property_bytes", f"longer than {max_bytes:,} bytes")
            if f.max_length and len(v) > f.max_length:
                raise Bad("max_length", f"longer than {f.max_length} characters")
            if pattern is not None and not pattern.fullmatch(v):
                raise Bad(code_rule, f"'{v[:40]}' does not match {f.pattern}")
            if enum is not None:
                try:
                    return enum[v]
                except KeyError:
                    raise Bad("enum", f"'{v[:40]}' is not one of: {', '.join(f.enum or ())}") from None
            return v
    elif f.type == "integer":

        def check(v: Any) -> Any:
            if type(v) is float and v.is_integer():
                v = int(v)
            if type(v) is not int:
                raise Bad("type", f"expected an integer, got {v!r}"[:80])
            if not INT32[0] <= v <= INT32[1]:
                raise Bad("maximum" if v > 0 else "minimum", f"{v} is out of the integer range")
            return bounded(v)
    elif f.type == "number":

        def check(v: Any) -> Any:
            if type(v) is int:
                v = float(v)
            if type(v) is not float:
                raise Bad("type", f"expected a number, got {v!r}"[:80])
            if not math.isfinite(v):
                raise Bad("finite", "NaN and Infinity are not numbers we store")
            return bounded(v)
    elif f.type == "boolean":

        def check(v: Any) -> Any:
            if type(v) is not bool:
                raise Bad("type", f"expected true or false, got {v!r}"[:80])
            return v
    elif f.type == "date":

        def check(v: Any) -> Any:
            try:
                return dt.date.fromisoformat(v[:10])
            except (TypeError, ValueError):
                raise Bad("type", f"'{v!s:.40}' is not an ISO 8601 date") from None
    elif f.type == "datetime":

        def check(v: Any) -> Any:
            try:
                t = dt.datetime.fromisoformat(v)
            except (AttributeError, ValueError):
                raise Bad("type", f"'{v!s:.40}' is not an ISO 8601 date-time") from None
            if t.tzinfo is None:
                raise Bad("type", "a date-time needs a UTC offset (RFC 3339)")
            return t
    else:  # object -> jsonb, staged as text

        def check(v: Any) -> Any:
            if type(v) is not dict:
                raise Bad("type", "expected a JSON object")
            if _depth(v, s.max_json_depth) > s.max_json_depth:
                raise Bad("depth", f"nested deeper than {s.max_json_depth} levels")
            text = orjson.dumps(v).decode()
            if len(text) > max_bytes:
                raise Bad("max_property_bytes", f"longer than {max_bytes:,} bytes")
            return text

    return check


class _Refer(Exception):
    """A column check cannot vouch for a column: the batch goes feature by feature (`row`)."""


def _down_column(check: Callable[[Any], Any]) -> Callable[[list[Any]], list[Any]]:
    """`check` value by value down a column, nulls passing through (sheets: every cell is converted)."""
    return lambda col: [None if v is None else check(v) for v in col]


def _column_checker(f: Field, s: Settings, check: Callable[[Any], Any]) -> Callable[[list[Any]], list[Any]]:
    """`check` down a whole column, with C-level passes for plain strings, integers, numbers and booleans.

    Raises (Bad or _Refer) when any value might break a rule; `row` then names it, value by value.
    """
    each = _down_column(check)

    def present(col: list[Any]) -> list[Any]:
        return col if None not in col else [v for v in col if v is not None]

    if f.type == "string":
        enum = {v: v for v in f.enum} if f.enum else None
        pattern = re.compile(f.pattern) if f.pattern else None
        max_bytes = s.max_property_bytes

        # A vocabulary whose every term passes the other rules (as the catalogue's do): a column made of its
        # terms passes them all, so one subset test decides (str equals only str: no other type gets in).
        plain = enum is not None and all(
            "\x00" not in v
            and (not f.max_length or len(v) <= f.max_length)
            and len(v.encode()) <= max_bytes
            and (pattern is None or pattern.fullmatch(v))
            for v in enum
        )

        def strings(col: list[Any]) -> list[Any]:
            vals = present(col)
            if not vals:
                return col
            if plain:
                try:
                    known = set(vals) <= enum.keys()
                except TypeError:  # a list or an object in the column
                    raise _Refer from None
                if not known:
                    raise _Refer
                return list(map(enum.get, col))  # the shared vocabulary strings (see _checker)
            if set(map(type, vals)) != {str} or "\x00" in "".join(vals):
                raise _Refer
            longest = max(map(len, vals))
            if f.max_length and longest > f.max_length:
                raise _Refer
            # Up to 4 bytes a character in UTF-8: only a longer value can pass the byte limit.
            if longest > max_bytes // 4 and any(len(v.encode()) > max_bytes for v in vals):
                raise _Refer
            if pattern is not None and not all(map(pattern.fullmatch, vals)):
                raise _Refer
            if enum is not None:
                if not set(vals) <= enum.keys():
                    raise _Refer
                return list(map(enum.get, col))  # the shared vocabulary strings (see _checker)
            return col

        return strings
    if f.type in ("integer", "number", "boolean"):
        lo, hi = f.minimum, f.maximum
        if f.type == "integer":
            lo = INT32[0] if lo is None else max(lo, INT32[0])
            hi = INT32[1] if hi is None else min(hi, INT32[1])
        kinds = {"integer": {int}, "number": {float}, "boolean": {bool}}[f.type]

        def scalars(col: list[Any]) -> list[Any]:
            vals = present(col)
            if not vals:
                return col
            if set(map(type, vals)) - kinds:
                return each(col)  # ints as numbers, whole floats as integers: converted by `check`
            if f.type == "number" and not all(map(math.isfinite, vals)):
                raise _Refer
            if f.type != "boolean" and (
                (lo is not None and min(vals) < lo) or (hi is not None and max(vals) > hi)
            ):
                raise _Refer
            return col

        return scalars
    if f.type in ("date", "datetime"):

        def dates(col: list[Any]) -> list[Any]:
            # A survey's dates repeat (a crew's day): each distinct one is parsed once.
            try:
                distinct = set(col)
            except TypeError:  # a list or an object in the column: `check` names it
                return each(col)
            distinct.discard(None)
            parsed = {v: check(v) for v in distinct}
            return list(map(parsed.get, col))

        return dates
    return each


_TEXT_BOOL = {
    "true": True,
    "t": True,
    "yes": True,
    "y": True,
    "1": True,
    "false": False,
    "f": False,
    "no": False,
    "n": False,
    "0": False,
}


def _from_text(f: Field, check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a check for sheets (CSV), whose cells are all text: convert to the field's type first."""

    def parse(v: Any) -> Any:
        if type(v) is not str:
            return check(v)
        try:
            if f.type == "integer":
                return check(int(v))
            if f.type == "number":
                return check(float(v))
            if f.type == "boolean":
                return check(_TEXT_BOOL[v.strip().lower()])
            return check(orjson.loads(v))
        except (ValueError, KeyError, orjson.JSONDecodeError):
            raise Bad("type", f"'{v[:40]}' is not a valid {f.type}") from None

    return parse


class PropertyRules:
    """The writable fields of a collection, compiled for staging rows."""

    def __init__(
        self,
        collection: Collection,
        settings: Settings,
        org_codes: frozenset[str],
        text: bool = False,
        dbf_names: bool = False,
    ) -> None:
        self.collection = collection
        self.fields: tuple[Field, ...] = tuple(
            f for f in collection.writable_fields if f.name not in SERVER_SET
        )
        self.position = {f.name: i for i, f in enumerate(self.fields)}
        if dbf_names:
            # dBase cuts field names to 10 characters: 'utility_type' arrives as 'utility_ty'.
            cut: dict[str, list[int]] = {}
            for i, f in enumerate(self.fields):
                if len(f.name) > 10:
                    cut.setdefault(f.name[:10], []).append(i)
            self.position.update({k: v[0] for k, v in cut.items() if len(v) == 1 and k not in self.position})
        self.checks = [_checker(f, settings) for f in self.fields]
        if text:
            self.checks = [
                c if f.type in ("string", "date", "datetime") else _from_text(f, c)
                for f, c in zip(self.fields, self.checks)
            ]
        self.column_checks = [
            _down_column(c) if text else _column_checker(f, settings, c)
            for f, c in zip(self.fields, self.checks)
        ]
        # Absent fields take the column default on insert; the present-mask keeps them on update.
        self.defaults = [f.default for f in self.fields]
        self.all_fields = tuple(range(len(self.fields)))
        # NOT NULL columns with a default count as required once a file sends an explicit null.
        table = collection.table.c
        self.required = [
            (i, f.name)
            for i, f in enumerate(self.fields)
            if f.required or (not table[f.name].nullable and not (f.allocated or f.derived))
        ]
        self.required_when = [
            (i, f.name, self.position[f.required_when[0]], f.required_when)
            for i, f in enumerate(self.fields)
            if f.required_when and f.required_when[0] in self.position
        ]
        self.orgs = [(i, f.name) for i, f in enumerate(self.fields) if f.ref == "organisations"]
        self.org_codes = org_codes
        cat = collection.category_field
        self.category = self.position.get(cat) if cat else None
        self.by_category = [
            (i, f.name, frozenset(f.categories)) for i, f in enumerate(self.fields) if f.categories
        ]
        self.ignored = (
            frozenset(f.name for f in collection.fields if f.readonly) | set(BOOKKEEPING) | SERVER_SET
        )
        self.max_properties = settings.max_properties
        self.code_at = self.position.get("asset_code")
        self.needs_class = collection.is_asset
        if len(self.fields) > 62:
            raise RuntimeError(f"{collection.id}: more than 62 writable fields do not fit the present-mask")

    def columns(self, props: list[dict[str, Any]]) -> tuple[list[list[Any]], int, list[str | None]] | None:
        """A batch column by column: (a list of typed values per field, the present-mask shared by all,
        the class codes), when every feature has the same keys and breaks no rule.

        The same checks as `row`, run down each column: walking every feature's dict, looking up each
        key and building each mask was half of `row`'s cost (4.8 us a manhole). None when any feature
        differs or breaks a rule: the batch then goes feature by feature, and `row` names every issue.
        """
        n = len(props)
        keys = tuple(props[0]) if n else ()
        if not n or len(keys) > self.max_properties or set(map(len, props)) != {len(keys)}:
            return None
        cols: list[list[Any] | None] = [None] * len(self.fields)
        mask = 0
        try:
            for key in keys:
                i = self.position.get(key)
                if i is None:
                    if key not in self.ignored:
                        return None
                    continue
                if cols[i] is not None:  # two names of one field (a cut .dbf name beside the full one)
                    return None
                # KeyError: a feature without this key (same count, so another set of keys).
                cols[i] = self.column_checks[i](list(map(operator.itemgetter(key), props)))
                mask |= 1 << i
        except (KeyError, Bad, _Refer):
            return None
        column = [c if c is not None else [d] * n for c, d in zip(cols, self.defaults)]
        if any(None in column[i] for i, _ in self.required):
            return None
        for i, _, j, (_, value) in self.required_when:
            if any(a == value and b is None for a, b in zip(column[j], column[i])):
                return None
        for i, _ in self.orgs:
            codes = set(column[i])
            codes.discard(None)
            if not codes <= self.org_codes:
                return None
        if self.by_category and self.category is not None:
            cats = column[self.category]
            for i, _, allowed in self.by_category:
                if any(v is not None and c not in allowed for c, v in zip(cats, column[i])):
                    return None
        classes: list[str | None] = [None] * n
        if self.needs_class:
            try:
                for k, code in enumerate(column[self.code_at] if self.code_at is not None else [None] * n):
                    if code is None:
                        classes[k] = class_code(self.collection, props[k])
            except KeyError:
                return None
        return column, mask, classes

    def row(
        self, props: dict[str, Any], index: int, issues: list[Issue]
    ) -> tuple[list[Any], int, str | None] | None:
        """(typed values, present-mask, class code) for one feature, or None after appending issues."""
        values = self.defaults.copy()
        mask = 0
        bad = len(issues)
        if len(props) > self.max_properties:
            issues.append(Issue(None, "max_properties", f"more than {self.max_properties} properties", index))
            return None
        position, checks = self.position, self.checks
        for key, value in props.items():
            i = position.get(key)
            if i is None:
                if key not in self.ignored:
                    issues.append(
                        Issue(key, "unknown_field", f"'{key}' is not a field of {self.collection.id}", index)
                    )
                continue
            mask |= 1 << i
            if value is None:
                values[i] = None
                continue
            try:
                values[i] = checks[i](value)
            except Bad as b:
                values[i] = _REFUSED  # reported once, not again as "required"
                issues.append(Issue(self.fields[i].name, b.rule, b.message, index))
        for i, name in self.required:
            if values[i] is None:
                issues.append(Issue(name, "required", f"'{name}' is required", index))
        for i, name, j, (other, value) in self.required_when:
            if values[j] == value and values[i] is None:
                issues.append(
                    Issue(name, "required_when", f"'{name}' is required when {other} is '{value}'", index)
                )
        for i, name in self.orgs:
            if values[i] is not None and values[i] not in self.org_codes:
                issues.append(Issue(name, "reference", f"unknown organisation '{values[i]}'", index))
        if self.by_category and self.category is not None:
            cat = values[self.category]
            for i, name, allowed in self.by_category:
                if values[i] is not None and cat not in allowed:
                    issues.append(
                        Issue(
                            name,
                            "category_field",
                            f"'{name}' applies to {', '.join(sorted(allowed))}, not to '{cat}'",
                            index,
                        )
                    )
        cls = None
        if self.needs_class and len(issues) == bad and values[self.code_at] is None:
            try:
                cls = class_code(self.collection, props)
            except KeyError as exc:
                issues.append(Issue(None, "class", str(exc).strip("'\""), index))
        if len(issues) > bad:
            code = values[self.code_at] if self.code_at is not None else None
            for issue in issues[bad:]:
                issue.code = code if isinstance(code, str) else None
            return None
        return values, mask, cls
