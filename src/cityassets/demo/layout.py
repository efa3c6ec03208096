"""The demo city's fabric: frame, road network, river, blocks, green spaces, housing, facilities, grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from cityassets.crs import transformer
from cityassets.demo import names as n

CENTRE = (113.65, 34.75)  # CRS84 centre of the central box
HALF = 10_000.0  # the central box is 20 x 20 km
STEP = 500.0  # road grid spacing; one block per step
NB = int(2 * HALF / STEP)  # blocks per side
SETBACK = 30.0  # block edge to road centreline
QUAD_GAP = 20.0  # inner lane between the four quadrants of a block
HALF_WIDTH = {"expressway": 25.0, "main": 22.0, "secondary": 14.0, "branch": 7.0, "park_path": 2.0}

#: Blocks (i0, i1, j0, j1) where no park >= 5000 m2 is placed: residents in the middle are > 500 m from one.
PARK_DESERTS = ((28, 34, 28, 34), (4, 10, 6, 12))
#: Blocks with no public toilet at all.
TOILET_DESERTS = ((12, 16, 30, 34), (30, 35, 8, 12))
#: Public toilets per km2 in the central box, and the under-provided district (Huiji) below the 6/km2 target.
TOILETS_PER_KM2 = 9.0
TOILETS_UNDERSERVED = {"410108": 3.0}
#: Old-town blocks (the Shang city site): its small gardens are flagged historic, where 1000 m2 parks count.
HISTORIC = (22, 26, 18, 22)


def in_zone(i: np.ndarray | int, j: np.ndarray | int, zones) -> np.ndarray | bool:
    """True where block (i, j) lies in one of the zones."""
    hit = np.zeros(np.shape(i), bool) if np.ndim(i) else False
    for i0, i1, j0, j1 in zones:
        hit = hit | ((i >= i0) & (i < i1) & (j >= j0) & (j < j1))
    return hit


def multi(geom) -> MultiPolygon:
    """Polygonal parts of a geometry as a valid MultiPolygon (empty when none)."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    polys += [q for p in shapely.get_parts(geom) if p.geom_type == "MultiPolygon" for q in p.geoms]
    return MultiPolygon(polys)


@dataclass
class Frame:
    """Where the city is: storage SRID, the central box origin, districts and grid cells for look-ups."""

    srid: int
    districts: list[dict]
    x0: float = field(init=False)
    y0: float = field(init=False)

    def __post_init__(self) -> None:
        cx, cy = transformer("CRS84", f"EPSG:{self.srid}").transform(*CENTRE)
        self.x0, self.y0 = round(cx - HALF), round(cy - HALF)
        self._dgeoms = [d["geom"] for d in self.districts]
        for g in self._dgeoms:
            shapely.prepare(g)
        self.cells: list[dict] = []
        self._cell_tree: shapely.STRtree | None = None

    def set_cells(self, cells: list[dict]) -> None:
        """The unit grid used by `grid_of`."""
        self.cells = cells
        self._cell_tree = shapely.STRtree([c["geom"] for c in cells])

    def district_of(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Code of the first district (code order) containing each point; None outside all."""
        out = np.full(len(xs), None, object)
        for d, g in zip(self.districts, self._dgeoms):
            hit = np.equal(out, None) & shapely.contains_xy(g, xs, ys)
            out[hit] = d["code"]
        return out

    def district_of_geoms(self, geoms) -> np.ndarray:
        """District of each geometry's point-on-surface (as the registry derives it)."""
        pts = shapely.point_on_surface(np.asarray(geoms, object))
        return self.district_of(shapely.get_x(pts), shapely.get_y(pts))

    def grid_of(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Code of the unit grid cell containing each point; None outside the grid."""
        out = np.full(len(xs), None, object)
        if self._cell_tree is None:
            return out
        pts, cells = self._cell_tree.query(shapely.points(xs, ys), predicate="intersects")
        first = np.full(len(xs), len(self.cells))
        np.minimum.at(first, pts, cells)  # the lowest cell wins, as in the registry's ORDER BY id
        hit = first < len(self.cells)
        out[hit] = np.array([c["code"] for c in self.cells], object)[first[hit]]
        return out


# --- roads ------------------------------------------------------------------------------------

def _line_class(k: int) -> str:
    if k in (0, NB):
        return "expressway"
    return "main" if k % 4 == 0 else "secondary" if k % 2 == 0 else "branch"


def _line_name(k: int, ew: bool) -> str:
    if k % 2 == 0:
        table = (n.EW_MAIN if ew else n.NS_MAIN) if k % 4 == 0 else (n.EW_SECONDARY if ew else n.NS_SECONDARY)
        return table[k // 4]
    stem = n.BRANCH_STEMS[(k // 2) + (0 if ew else NB // 2)]
    return stem + ("街" if ew else "路")


def river_line(f: Frame) -> LineString:
    """The river meandering west to east through the middle of the box."""
    x = np.arange(0.0, 2 * HALF + 1, 50.0)
    y = 12_000 + 600 * np.sin(2 * np.pi * x / 7_000) + 250 * np.sin(2 * np.pi * x / 2_300)
    return LineString(np.column_stack([f.x0 + x, f.y0 + y]))


def roads(f: Frame, rng: np.random.Generator) -> list[dict]:
    """Noded road network: grid of expressway/main/secondary/branch roads plus riverside paths."""
    lines, props = [], []
    for ew in (True, False):
        for k in range(NB + 1):
            cls, name = _line_class(k), _line_name(k, ew)
            c = k * STEP
            # Branch roads are interrupted (dead ends, gated compounds): keep ~75 % of their blocks.
            spans = [(0, NB)] if cls != "branch" else [(i, i + 1) for i in range(NB) if rng.random() < 0.75]
            for a, b in spans:
                pts = [(a * STEP, c), (b * STEP, c)] if ew else [(c, a * STEP), (c, b * STEP)]
                lines.append(LineString([(f.x0 + x, f.y0 + y) for x, y in pts]))
                props.append({"name": name, "road_class": cls, "walkable": cls != "expressway"})
    river = river_line(f)
    for side in (45.0, -45.0):
        lines.append(river.offset_curve(side))
        props.append({"name": f"{n.RIVER}滨河步道", "road_class": "park_path", "walkable": True})
    # Node every crossing so the network is routable, then give each piece its source line's attributes.
    pieces = shapely.get_parts(shapely.union_all(lines))
    pieces = pieces[shapely.length(pieces) > 0.5]
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    src, tgt = shapely.STRtree(lines).query(mids, predicate="dwithin", distance=0.01)
    owner = np.full(len(pieces), len(lines))
    np.minimum.at(owner, src, tgt)
    return [{**props[o], "geom": g} for g, o in zip(pieces, owner) if o < len(lines)]


# --- blocks and land use ----------------------------------------------------------------------

def _block(f: Frame, i: int, j: int) -> Polygon:
    return box(f.x0 + i * STEP + SETBACK, f.y0 + j * STEP + SETBACK,
               f.x0 + (i + 1) * STEP - SETBACK, f.y0 + (j + 1) * STEP - SETBACK)


def _quadrants(b: Polygon) -> list[Polygon]:
    x0, y0, x1, y1 = b.bounds
    mx, my, g = (x0 + x1) / 2, (y0 + y1) / 2, QUAD_GAP / 2
    return [box(x0, y0, mx - g, my - g), box(mx + g, y0, x1, my - g), box(x0, my + g, mx - g, y1), box(mx + g, my + g, x1, y1)]


@dataclass
class Land:
    """Polygons and points of the land-use layers (before district look-ups)."""

    green: list[dict] = field(default_factory=list)
    residential: list[dict] = field(default_factory=list)
    facilities: list[dict] = field(default_factory=list)


def _compound_name(rng: np.random.Generator) -> str:
    return (n.COMPOUND_BRANDS[rng.integers(len(n.COMPOUND_BRANDS))]
            + n.COMPOUND_MIDDLES[rng.integers(len(n.COMPOUND_MIDDLES))]
            + n.COMPOUND_SUFFIXES[rng.integers(len(n.COMPOUND_SUFFIXES))])


def land(f: Frame, rng: np.random.Generator) -> Land:
    """Parks, riverside green, residential compounds and block facilities, block by block."""
    out = Land()
    river = river_line(f)
    corridor = river.buffer(110.0)
    # Riverside park: both banks, cut by the crossing roads into one piece per block column.
    bank = river.buffer(100.0).difference(river.buffer(12.0))
    # ... minus the east-west roads the meandering river crosses (they run on bridges, not through the park).
    lo, hi = int((bank.bounds[1] - f.y0) // STEP), int((bank.bounds[3] - f.y0) // STEP) + 1
    bank = bank.difference(shapely.union_all([box(f.x0, f.y0 + k * STEP - SETBACK, f.x0 + 2 * HALF, f.y0 + k * STEP + SETBACK)
                                              for k in range(lo, hi + 1)]))
    for i in range(NB):
        strip = bank.intersection(box(f.x0 + i * STEP + SETBACK, f.y0, f.x0 + (i + 1) * STEP - SETBACK, f.y0 + 2 * HALF))
        if strip.area > 5_000:
            out.green.append({"name": f"{n.RIVER}滨河公园（{i + 1}段）", "green_class": "G12", "geom": multi(strip)})

    blocks = [(i, j) for i in range(NB) for j in range(NB)]
    big = [b for b in blocks if not in_zone(*b, PARK_DESERTS) and not _block(f, *b).intersects(corridor)]
    order = rng.permutation(len(big))
    big_parks = {big[k]: name for k, name in zip(order[: len(n.PARKS_G11) + len(n.PARKS_G13)], n.PARKS_G11 + n.PARKS_G13)}
    counters = {"G12": 0, "G14": 0, "kindergarten": 0, "primary_school": 0, "middle_school": 0}

    def park_name(kind: str) -> str:
        counters[kind] += 1
        stem = n.PARK_STEMS[counters[kind] % len(n.PARK_STEMS)]
        return f"{stem}{'社区公园' if kind == 'G12' else '游园'}{counters[kind] // len(n.PARK_STEMS) + 1}号"

    for i in range(NB):
        for j in range(NB):
            b = _block(f, i, j)
            desert = in_zone(i, j, PARK_DESERTS)
            if (i, j) in big_parks:
                name = big_parks[(i, j)]
                shrink = rng.uniform(0, 50)
                cls = "G13" if name in n.PARKS_G13 else "G11"
                out.green.append({"name": name, "green_class": cls, "geom": multi(b.buffer(-shrink, join_style="mitre"))})
                continue
            kind = rng.choice(["residential", "commercial"], p=[0.78, 0.22])
            quads = [q.difference(corridor) if q.intersects(corridor) else q for q in _quadrants(b)]
            for q in quads:
                if q.area < 8_000:
                    continue
                roll = rng.random()
                if not desert and roll < 0.05:
                    x0, y0, x1, y1 = q.bounds
                    w, h = rng.uniform(140, 210, 2)
                    park = q.intersection(box(x0, y0, x0 + w, y0 + h))
                    out.green.append({"name": park_name("G12"), "green_class": "G12", "geom": multi(park)})
                    continue
                if kind == "commercial":
                    _commercial(q, rng, out)
                    continue
                if roll < 0.16:
                    # Pocket garden in a quadrant corner; in a park desert or the old town it stays below 5000 m2.
                    historic = bool(in_zone(i, j, (HISTORIC,)))
                    side = rng.uniform(35, 65) if desert or historic else rng.uniform(45, 110)
                    x1, y1 = q.bounds[2], q.bounds[3]
                    garden = q.intersection(box(x1 - side, y1 - side, x1, y1))
                    out.green.append({"name": park_name("G14"), "green_class": "G14", "historic_district": historic,
                                      "geom": multi(garden)})
                    q = q.difference(garden)
                if roll > 0.93:
                    school = "primary_school" if rng.random() < 0.7 else "middle_school"
                    counters[school] += 1
                    cap = int(rng.integers(1200, 2700) if school == "primary_school" else rng.integers(1500, 3200))
                    zh = "小学" if school == "primary_school" else "中学"
                    out.facilities.append({"category": school, "name": f"郑州市第{counters[school]}{zh}（演示）",
                                           "capacity": cap, "geom": q.representative_point()})
                    continue
                _compound(q, rng, out)
                if rng.random() < 0.12:
                    counters["kindergarten"] += 1
                    out.facilities.append({"category": "kindergarten", "name": f"第{counters['kindergarten']}幼儿园（演示）",
                                           "capacity": int(rng.integers(180, 450)), "geom": q.centroid})
    return out


def _compound(q, rng: np.random.Generator, out: Land) -> None:
    geom = multi(q)
    if geom.is_empty:
        return
    density = rng.uniform(0.012, 0.04)  # residents per m2 of compound land
    pop = int(geom.area * density)
    land_use = rng.choice(["R1", "R2", "R3"], p=[0.05, 0.85, 0.10])
    out.residential.append({"name": _compound_name(rng), "land_use": str(land_use), "population": pop,
                            "households": int(pop / rng.uniform(2.6, 3.1)), "geom": geom})


def _commercial(q, rng: np.random.Generator, out: Land) -> None:
    roll = rng.random()
    for limit, cat, zh, cap in ((0.04, "hospital", "医院", (300, 1500)), (0.16, "clinic", "社区卫生服务站", (0, 0)),
                                (0.26, "market", "菜市场", (0, 0)), (0.36, "community_centre", "社区服务中心", (0, 0)),
                                (0.41, "sports", "全民健身中心", (0, 0))):
        if roll < limit:
            capacity = int(rng.integers(*cap)) if cap[1] else None
            out.facilities.append({"category": cat, "name": f"{_compound_name(rng)[:2]}{zh}（演示）",
                                   "capacity": capacity, "geom": q.representative_point()})
            return


def bus_stops(road_rows: list[dict], rng: np.random.Generator) -> list[dict]:
    """Bus stops mid-block on both sides of main and secondary roads (~80 % of places)."""
    tree = shapely.STRtree([r["geom"] for r in road_rows])
    out = []
    for r in road_rows:
        if r["road_class"] not in ("main", "secondary") or r["geom"].length < 200:
            continue
        line = r["geom"]
        for side in (1, -1):
            if rng.random() > 0.8:
                continue
            d = line.length * rng.uniform(0.35, 0.65)
            (x, y), = offset_points(np.array([line]), np.array([d]), np.array([side * (HALF_WIDTH[r["road_class"]] + 3)]))
            # Named after the street and the nearer cross street, as Zhengzhou stops are (e.g. 金水路经三路站).
            end = shapely.Point(line.coords[0] if d < line.length / 2 else line.coords[-1])
            cross = sorted(i for i in tree.query(end, predicate="dwithin", distance=0.01) if road_rows[i]["name"] != r["name"])
            name = f"{r['name']}{road_rows[cross[0]]['name']}站" if cross else f"{r['name']}站"
            out.append({"category": "bus_stop", "name": name, "capacity": None, "geom": shapely.Point(x, y)})
    return out


def offset_points(lines: np.ndarray, dist: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Points at `dist` along each line, moved `offset` metres to its left (negative: right)."""
    length = shapely.length(lines)
    d2 = np.minimum(dist + 1.0, length)
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(lines, d2 - 1.0))
    p2 = shapely.get_coordinates(shapely.line_interpolate_point(lines, d2))
    p = shapely.get_coordinates(shapely.line_interpolate_point(lines, dist))
    t = p2 - p1
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    normal = np.column_stack([-t[:, 1], t[:, 0]])
    return p + normal * offset[:, None]


def grid_cells(f: Frame) -> list[dict]:
    """1 km unit grid cells over the central box, split at district boundaries, coded per district."""
    size = 1_000.0
    per_district: dict[str, list] = {}
    for j in range(int(2 * HALF / size)):
        for i in range(int(2 * HALF / size)):
            cell = box(f.x0 + i * size, f.y0 + j * size, f.x0 + (i + 1) * size, f.y0 + (j + 1) * size)
            for d in f.districts:
                if not d["geom"].intersects(cell):
                    continue
                piece = multi(d["geom"].intersection(cell))
                if piece.area >= 2_000:
                    per_district.setdefault(d["code"], []).append(piece)
    out = []
    for d in f.districts:
        for k, geom in enumerate(per_district.get(d["code"], [])):
            # 15 digits: district (6) + street (3) + community (3) + cell (3)
            code = f"{d['code']}{k // 100 + 1:03d}{k // 10 % 10 + 1:03d}{k % 10 + 1:03d}"
            out.append({"code": code, "district_code": d["code"], "name": f"{d['name_zh']}第{k + 1}网格", "geom": geom})
    return out
