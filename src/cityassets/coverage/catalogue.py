"""cityassets.coverage.catalogue: the indicator definitions of data/indicators.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from cityassets.errors import InvalidRequest, NotFound
from cityassets.settings import PROJECT_ROOT

CATALOGUE_FILE = PROJECT_ROOT / "data" / "indicators.yaml"
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class Param:
    """One overridable parameter with its default and bounds."""

    name: str
    default: Any
    type: str  # number | bool | list | choice
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw: Any) -> Any:
        """The typed value of a query-string or CLI value, or InvalidRequest."""
        text = str(raw).strip()
        if self.type == "number":
            try:
                value = float(text)
            except ValueError:
                raise InvalidRequest(f"parameter '{self.name}' must be a number, got '{text}'") from None
            if value != value or (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                raise InvalidRequest(f"parameter '{self.name}' must be within [{self.min}, {self.max}], got {text}")
            return value
        if self.type == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise InvalidRequest(f"parameter '{self.name}' must be true or false, got '{text}'")
        if self.type == "choice":
            if text not in self.choices:
                raise InvalidRequest(f"parameter '{self.name}' must be one of {', '.join(self.choices)}")
            return text
        items = tuple(sorted({s.strip() for s in text.split(",") if s.strip()}))
        if not items:
            raise InvalidRequest(f"parameter '{self.name}' needs at least one value")
        return items

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the catalogue listing."""
        out: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        if self.min is not None:
            out["minimum"] = self.min
        if self.max is not None:
            out["maximum"] = self.max
        if self.choices:
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class Indicator:
    """One indicator: how it is computed, its parameters and its target."""

    id: str
    group: str
    title_zh: str
    title_en: str
    rule: str
    facilities: str | None
    params: tuple[Param, ...]
    target: float | None
    target_op: str
    unit: str
    source: str

    def bind(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults merged with overrides; unknown names are rejected (400), not ignored."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise InvalidRequest(f"indicator '{self.id}' has no parameter {', '.join(unknown)}; "
                                 f"it takes {', '.join(known) or 'none'}")
        out = {p.name: p.parse(p.default) for p in self.params}
        out.update({k: known[k].parse(v) for k, v in overrides.items() if k in known and v is not None})
        return out

    def met(self, value: float | None) -> bool | None:
        """Whether a value reaches the target (None when there is no target or no value)."""
        if self.target is None or value is None:
            return None
        return value > self.target if self.target_op == ">" else value >= self.target

    def as_dict(self) -> dict[str, Any]:
        """JSON form for GET /indicators."""
        return {"id": self.id, "group": self.group, "title_zh": self.title_zh, "title_en": self.title_en,
                "rule": self.rule, "unit": self.unit, "target": self.target, "target_op": self.target_op,
                "source": self.source, "parameters": [p.as_dict() for p in self.params]}


def _indicator(d: dict[str, Any]) -> Indicator:
    params = tuple(
        Param(name, spec["default"], spec["type"], spec.get("min"), spec.get("max"), tuple(spec.get("choices", ())))
        for name, spec in (d.get("parameters") or {}).items()
    )
    return Indicator(d["id"], d["group"], d["title_zh"], d["title_en"], d["rule"], d.get("facilities"), params,
                     d.get("target"), d.get("target_op", ">="), d["unit"], d["source"])


@lru_cache
def indicators() -> dict[str, Indicator]:
    """All indicators by id, in file order."""
    with open(CATALOGUE_FILE, encoding="utf-8") as fh:
        return {d["id"]: _indicator(d) for d in yaml.safe_load(fh)}


def get_indicator(indicator_id: str) -> Indicator:
    """The indicator with this id, or NotFound."""
    try:
        return indicators()[indicator_id]
    except KeyError:
        raise NotFound(f"indicator '{indicator_id}' does not exist; see GET /indicators") from None
