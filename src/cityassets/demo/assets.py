"""The demo city's street assets: manholes, trees, lamp poles and devices, toilets, street furniture."""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely

from cityassets.demo import names as n
from cityassets.demo.layout import (
    HALF_WIDTH,
    NB,
    STEP,
    TOILET_DESERTS,
    TOILETS_PER_KM2,
    TOILETS_UNDERSERVED,
    Frame,
    in_zone,
    offset_points,
)

CARRIERS = ("CMCC", "CUCC", "CTCC")
#: Districts whose government is in the organisations register (street furniture, toilets).
DISTRICT_GOVS = {"410102", "410103", "410104", "410105", "410108"}


def pick(rng: np.random.Generator, table: dict, size: int) -> np.ndarray:
    """`size` draws from {value: weight}."""
    keys = list(table)
    w = np.array([table[k] for k in keys], float)
    return np.array(keys, object)[rng.choice(len(keys), size=size, p=w / w.sum())]


def dates(rng: np.random.Generator, start: str, end: str, size: int) -> list[dt.date]:
    """Uniform random dates in [start, end]."""
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    days = rng.integers(0, (b - a).days + 1, size)
    return [a + dt.timedelta(days=int(d)) for d in days]


def common(rng: np.random.Generator, size: int, installed: tuple[str, str]) -> list[dict]:
    """Survey provenance and installation date shared by every asset kind."""
    method = pick(rng, {"rtk": 0.6, "handheld_gnss": 0.3, "digitised": 0.1}, size)
    accuracy = {"rtk": "3cm", "handheld_gnss": "50cm", "digitised": "over_50cm"}
    surveyed = dates(rng, "2024-03-01", "2025-10-31", size)
    install = dates(rng, *installed, size)
    return [{"survey_method": m, "position_accuracy": accuracy[m], "surveyed_at": s, "install_date": i}
            for m, s, i in zip(method, surveyed, install)]


class Roads:
    """Road pieces as arrays for vectorised placement."""

    def __init__(self, rows: list[dict]) -> None:
        self.geoms = np.array([r["geom"] for r in rows], object)
        self.cls = np.array([r["road_class"] for r in rows], object)
        self.name = np.array([r["name"] for r in rows], object)
        self.length = shapely.length(self.geoms)
        self.hw = np.array([HALF_WIDTH[c] for c in self.cls])
        self.tree = shapely.STRtree(self.geoms)

    def random(self, rng: np.random.Generator, size: int, weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Random pieces (class weight x length) and distances along them, away from the crossings."""
        w = np.array([weights.get(c, 0.0) for c in self.cls]) * self.length * (self.length > 30)
        seg = rng.choice(len(w), size=size, p=w / w.sum())
        return seg, 10 + rng.random(size) * (self.length[seg] - 20)

    def streets(self, rng: np.random.Generator, classes: dict[str, float], target: int,
                sides: dict[str, tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Regular rows on whole pieces taken in random order until `target` points: (seg, dist, offset).

        `classes` gives the spacing per road class, `sides` the offsets of each row (negative = right).
        """
        segs, dists, offs, total = [], [], [], 0
        for s in rng.permutation(len(self.geoms)):
            c = self.cls[s]
            if c not in classes or self.length[s] < 60:
                continue
            for k, off in enumerate(sides[c]):
                start = 8.0 + (classes[c] / 2 if k % 2 else 0.0)  # staggered rows
                d = np.arange(start, self.length[s] - 8.0, classes[c])
                segs.append(np.full(len(d), s))
                dists.append(d)
                offs.append(np.full(len(d), off))
                total += len(d)
            if total >= target:
                break
        return np.concatenate(segs), np.concatenate(dists), np.concatenate(offs)

    def xy(self, seg: np.ndarray, dist: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Coordinates of placements."""
        return offset_points(self.geoms[seg], dist, offset)

    def nearest_name(self, xy: np.ndarray) -> np.ndarray:
        """Name of the nearest road to each point."""
        idx = self.tree.query_nearest(shapely.points(xy), all_matches=False)[1]
        return self.name[idx]


def inside(f: Frame, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points inside a district: their index, district code and grid cell code."""
    codes = f.district_of(xy[:, 0], xy[:, 1])
    ok = np.nonzero(np.not_equal(codes, None))[0]
    return ok, codes[ok], f.grid_of(xy[ok, 0], xy[ok, 1])


def place(f: Frame, xy: np.ndarray, rows: list[dict]) -> list[dict]:
    """Attach position, district and grid cell; drop rows outside every district."""
    ok, codes, grids = inside(f, xy)
    return [{**rows[k], "district_code": c, "grid_code": g, "geom": shapely.Point(xy[k])}
            for k, c, g in zip(ok, codes, grids)]


# --- manholes ---------------------------------------------------------------------------------

MANHOLE_UTILITIES = {
    "water_supply": 0.16, "sewage": 0.16, "storm": 0.14, "storm_grate": 0.12, "power": 0.08, "street_lighting": 0.05,
    "telecom": 0.08, "cable_tv": 0.03, "network": 0.03, "heat": 0.04, "gas": 0.05, "police": 0.01, "fire": 0.01,
    "bus": 0.005, "reclaimed": 0.01, "oil_gas": 0.003, "special": 0.002, "ownerless": 0.03,
}
UTILITY_OWNER = {
    "water_supply": "WATER", "sewage": "DRAIN", "storm": "DRAIN", "storm_grate": "DRAIN", "reclaimed": "WATER",
    "power": "POWER", "street_lighting": "LIGHT", "cable_tv": "CATV", "heat": "HEAT", "gas": "GAS",
    "police": "POLICE", "fire": "WATER", "bus": "BUS", "oil_gas": "GAS", "special": None, "ownerless": None,
}
UTILITY_ZH = {"water_supply": "上水", "sewage": "污水", "storm": "雨水", "storm_grate": "雨水箅子", "reclaimed": "中水",
              "power": "电力", "street_lighting": "路灯", "telecom": "通讯", "cable_tv": "电视", "network": "网络",
              "heat": "热力", "gas": "燃气", "police": "公安", "fire": "消防", "bus": "公交", "oil_gas": "输油气",
              "special": "特殊", "ownerless": "无主"}
COVER_MATERIAL = {"ductile_iron": 0.5, "composite": 0.25, "cast_iron": 0.15, "concrete": 0.05,
                  "cast_iron_with_pavement_filling": 0.05}


def _well_function(rng: np.random.Generator, u: str) -> str:
    if u == "storm_grate":
        return "gully"
    table = {"water_supply": {"valve": 0.4, "meter": 0.2, "inspection": 0.4},
             "sewage": {"inspection": 0.85, "junction": 0.1, "drop": 0.05},
             "storm": {"inspection": 0.85, "junction": 0.1, "drop": 0.05},
             "gas": {"valve": 0.6, "inspection": 0.4}}.get(u, {"inspection": 1.0})
    return str(pick(rng, table, 1)[0])


def manholes(f: Frame, roads: Roads, rng: np.random.Generator, size: int = 5000) -> list[dict]:
    """Manholes on and beside the roads, owners matching their utility, with the usual defects."""
    seg, dist = roads.random(rng, size, {"expressway": 1, "main": 3, "secondary": 2, "branch": 1.2, "park_path": 0.3})
    util = pick(rng, MANHOLE_UTILITIES, size)
    hw = roads.hw[seg]
    off = np.where(util == "storm_grate", hw - 0.5, rng.uniform(1.0, hw + 8.0)) * rng.choice([-1.0, 1.0], size)
    base = common(rng, size, ("1995-01-01", "2024-12-31"))
    condition = pick(rng, {"intact": 0.86, "damaged": 0.05, "missing": 0.012, "sunken": 0.03, "obstructed": 0.02,
                           "unknown": 0.028}, size)
    status = pick(rng, {"in_service": 0.95, "decommissioned_in_place": 0.02, "to_be_removed": 0.01,
                        "under_construction": 0.01, "unknown": 0.01}, size)
    roll = rng.random((size, 8))
    rows = []
    for k in range(size):
        u = str(util[k])
        owner = UTILITY_OWNER.get(u) or (CARRIERS[int(roll[k, 7] * 3)] if u in ("telecom", "network") else None)
        confirmed = owner is not None and roll[k, 0] > 0.08
        if owner and not confirmed and roll[k, 1] < 0.5:
            owner = None  # surveyed, owner not yet established (待确权)
        grate = u == "storm_grate"
        rect = grate or roll[k, 2] < 0.15
        rows.append({
            **base[k], "name": f"{roads.name[seg[k]]}{UTILITY_ZH[u]}井", "utility_type": u,
            "owner": owner, "authority": "CGJ", "maintainer": "MAINT1" if owner == "DRAIN" else owner,
            "ownership_confirmed": confirmed, "owner_mark": bool(owner) and roll[k, 3] < 0.82,
            "status": str(status[k]), "condition": str(condition[k]),
            "cover_material": "composite" if grate else str(pick(rng, COVER_MATERIAL, 1)[0]),
            "cover_shape": "rectangular" if rect else "round",
            "cover_diameter_mm": None if rect else int(rng.choice([600, 700, 800], p=[0.3, 0.5, 0.2])),
            "cover_length_mm": (750 if grate else 1000) if rect else None,
            "cover_width_mm": (450 if grate else 600) if rect else None,
            "load_class": "D400" if abs(off[k]) < hw[k] else ("C250" if roll[k, 4] < 0.6 else "B125"),
            "anti_fall_device": bool(roll[k, 5] < 0.55),
            "well_function": _well_function(rng, u),
            "depth_m": round(float(rng.uniform(0.6, 1.2) if grate else rng.uniform(1.0, 4.5)), 2),
            "sensor_id": f"SC{k:06d}" if roads.cls[seg[k]] == "main" and roll[k, 6] > 0.97 else None,
        })
    out = place(f, roads.xy(seg, dist, off), rows)
    for k, row in enumerate(out):
        # 19-digit provincial cover number (县级区划 6 + 类别 2 + 顺序号 11) on about a third of the covers.
        if row["ownership_confirmed"] and k % 3 == 0:
            row["provincial_cover_no"] = f"{row['district_code']}{list(UTILITY_ZH).index(row['utility_type']) + 1:02d}{k:011d}"
    return out


# --- trees ------------------------------------------------------------------------------------

def trees(f: Frame, roads: Roads, rng: np.random.Generator, size: int = 4500) -> list[dict]:
    """Street trees in rows along whole streets, one dominant species per street, most with a chip."""
    spacing = {"main": 8.0, "secondary": 8.0, "branch": 7.0}
    sides = {c: (HALF_WIDTH[c] + 3, -(HALF_WIDTH[c] + 3)) for c in spacing}
    seg, dist, off = roads.streets(rng, spacing, size, sides)
    m = len(seg)
    street_species = {name: int(rng.integers(len(n.SPECIES))) for name in sorted(set(roads.name))}
    base = common(rng, m, ("1990-01-01", "2023-12-31"))
    health = pick(rng, {"good": 0.7, "fair": 0.2, "poor": 0.07, "dead": 0.03}, m)
    roll = rng.random((m, 8))
    rows = []
    for k in range(m):
        vacant, stump = roll[k, 0] < 0.02, 0.02 <= roll[k, 0] < 0.03
        latin, zh, dbh0, h0 = n.SPECIES[street_species[roads.name[seg[k]]]]
        heritage = "grade_3" if roll[k, 1] < 0.002 else "notable" if roll[k, 1] < 0.003 else "none"
        dbh = float(np.clip(rng.normal(dbh0, dbh0 * 0.25), 5, 120)) * (3 if heritage != "none" else 1)
        pit = str(pick(rng, {"square": 0.6, "rectangular": 0.2, "strip": 0.1, "round": 0.05, "none": 0.05}, 1)[0])
        surface = str(pick(rng, {"grate": 0.55, "permeable_paving": 0.2, "gravel": 0.1, "soil": 0.1,
                                 "groundcover": 0.05}, 1)[0]) if pit != "none" else None
        chip = None if vacant or stump or roll[k, 2] < 0.12 else str(pick(rng, {"rfid": 0.6, "nfc": 0.25, "qr": 0.15}, 1)[0])
        alive = not (vacant or stump) and health[k] != "dead"
        rows.append({
            **base[k], "owner": "PARKS", "authority": "PARKS", "maintainer": "MAINT2",
            "name": None if vacant else f"{roads.name[seg[k]]}{zh}",
            "species_latin": None if vacant else latin, "species_zh": None if vacant else zh,
            "dbh_cm": None if vacant else round(dbh, 1),
            "height_m": None if vacant or stump else round(float(np.clip(rng.normal(h0, h0 * 0.2), 2, 40)), 1),
            "crown_diameter_m": None if not alive else round(dbh * 0.18, 1),
            "clear_trunk_height_m": None if not alive else round(float(rng.uniform(2.0, 3.5)), 1),
            "health": None if vacant or stump else str(health[k]),
            "tree_status": "vacant_site" if vacant else "stump" if stump else "alive" if alive else "dead_standing",
            "heritage_grade": heritage,
            "pit_shape": pit,
            "pit_length_m": {"square": 1.5, "rectangular": 2.0, "strip": 6.0, "round": 1.5}.get(pit),
            "pit_width_m": {"square": 1.5, "rectangular": 1.2, "strip": 1.5, "round": 1.5}.get(pit),
            "pit_surface": surface,
            "grate_material": str(rng.choice(["铸铁", "树脂复合", "不锈钢"])) if surface == "grate" else None,
            "support": "stakes" if alive and dbh < 12 else "frame" if roll[k, 3] < 0.03 else "none",
            "chip_type": chip,
            "chip_uid": None if chip is None else f"{'E280' if chip == 'rfid' else '04' if chip == 'nfc' else 'QR'}{k:08X}"
                                                   f"{int(rng.integers(0, 2**31)):08X}",
            "chip_bound_at": None if chip is None else dates(rng, "2023-04-01", "2025-09-30", 1)[0],
            "chip_status": None if chip is None else str(pick(rng, {"active": 0.93, "lost": 0.04, "damaged": 0.02,
                                                                     "replaced": 0.01}, 1)[0]),
            "condition": "intact" if alive else "damaged",
        })
    return place(f, roads.xy(seg, dist, off), rows)


# --- lamp poles and their devices -------------------------------------------------------------

def lamp_poles(f: Frame, roads: Roads, rng: np.random.Generator, size: int = 4000) -> tuple[list[dict], list[dict]]:
    """Lamp poles along lit streets (some integrated smart poles) and the devices they carry.

    Devices reference their pole by list index in `pole_index`; codes are allocated later.
    """
    spacing = {"expressway": 40.0, "main": 35.0, "secondary": 30.0, "branch": 30.0, "park_path": 25.0}
    sides = {"expressway": (0.0,), "main": (HALF_WIDTH["main"] + 1, -(HALF_WIDTH["main"] + 1)),
             "secondary": (HALF_WIDTH["secondary"] + 1, -(HALF_WIDTH["secondary"] + 1)),
             "branch": (HALF_WIDTH["branch"] + 1,), "park_path": (3.0,)}
    seg, dist, off = roads.streets(rng, spacing, size, sides)
    m = len(seg)
    base = common(rng, m, ("2000-01-01", "2024-12-31"))
    led_share = {"expressway": 0.72, "main": 0.72, "secondary": 0.70, "branch": 0.62, "park_path": 0.8}
    roll = rng.random((m, 6))
    poles, devices = [], []
    for k in range(m):
        c = roads.cls[seg[k]]
        integrated = c in ("main", "secondary") and roll[k, 0] < (0.14 if c == "main" else 0.05)
        ptype = ("double_arm" if c == "expressway" else "garden" if c == "park_path"
                 else "integrated_smart" if integrated else "single_arm")
        height = {"double_arm": 12.0, "garden": 4.0, "integrated_smart": 11.0, "single_arm": 10.0}[ptype]
        led = roll[k, 1] < led_share[c]
        lum = 2 if ptype == "double_arm" else 1
        on = [bool(x > 0.04) for x in rng.random(lum)]
        poles.append({
            **base[k], "owner": "LIGHT", "authority": "CGJ", "maintainer": "MAINT1",
            "pole_type": ptype, "pole_height_m": height, "is_integrated": integrated,
            "pole_material": "铝合金" if ptype == "garden" else "Q235热镀锌钢",
            "road_name": roads.name[seg[k]], "road_class": c, "circuit_id": f"HL{seg[k]:05d}",
            "control_mode": "single_lamp_controller" if led and roll[k, 2] < 0.3 else
            str(pick(rng, {"central_remote": 0.6, "timer": 0.25, "photocell": 0.15}, 1)[0]),
            "lit": all(on), "condition": "intact" if all(on) else "damaged" if roll[k, 3] < 0.5 else "unknown",
        })
        orient = float(rng.uniform(0, 360))
        for a in range(lum):
            method = "LED" if led else ("HPS" if roll[k, 4] < 0.9 else "MH")
            watt = {"expressway": 250, "main": 200, "secondary": 150, "branch": 100, "park_path": 40}[c]
            devices.append({"pole_index": k, "device_type": "luminaire", "light_method": method,
                            "wattage_w": float(watt * (0.6 if led else 1.0)) if method != "MH" else 250.0,
                            "lamp_count": 1, "is_on": on[a], "mount_height_m": height,
                            "orientation_deg": round((orient + 180 * a) % 360, 1), "owner": "LIGHT"})
        if integrated:
            extras = (("camera", 0.5, "POLICE", 6.0), ("small_cell_5g", 0.4, None, 8.0), ("env_sensor", 0.2, "CGJ", 3.0),
                      ("road_name_plate", 0.25, "CGJ", 3.5), ("traffic_signal", 0.15, "POLICE", 5.5),
                      ("guidance_screen", 0.05, "POLICE", 6.0), ("emergency_call", 0.05, "POLICE", 1.2),
                      ("wifi_ap", 0.05, None, 7.0))
            for dtype, p, owner, mh in extras:
                if rng.random() < p:
                    devices.append({"pole_index": k, "device_type": dtype, "mount_height_m": mh,
                                    "owner": owner or CARRIERS[int(rng.integers(3))],
                                    "orientation_deg": round(float(rng.uniform(0, 360)), 1)})
    xy = roads.xy(seg, dist, off)
    ok, codes, grids = inside(f, xy)
    keep = {int(k): i for i, k in enumerate(ok)}
    pole_rows = [{**poles[k], "district_code": c, "grid_code": g, "geom": shapely.Point(xy[k])}
                 for k, c, g in zip(ok, codes, grids)]
    common_dev = common(rng, len(devices), ("2015-01-01", "2025-06-30"))
    dev_rows = []
    for d, extra in zip(devices, common_dev):
        i = keep.get(d["pole_index"])
        if i is None:
            continue
        pole = pole_rows[i]
        dev_rows.append({**extra, **d, "pole_index": i, "district_code": pole["district_code"],
                         "grid_code": pole["grid_code"], "authority": "CGJ", "status": "in_service",
                         "condition": "intact" if d.get("is_on", True) else "damaged", "geom": pole["geom"]})
    return pole_rows, dev_rows


# --- toilets ----------------------------------------------------------------------------------

def toilets(f: Frame, roads: Roads, rng: np.random.Generator, parks: list[dict],
            outer_per_district: int = 12) -> list[dict]:
    """Public toilets: dense in the central box except deserts and Huiji, a few in outer towns, 1-2 per park."""
    ii, jj = np.meshgrid(np.arange(NB), np.arange(NB), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    centre = f.district_of(f.x0 + (ii + 0.5) * STEP, f.y0 + (jj + 0.5) * STEP)
    per_km2 = np.array([TOILETS_UNDERSERVED.get(d, TOILETS_PER_KM2) for d in centre])
    per_km2[in_zone(ii, jj, TOILET_DESERTS)] = 0.0
    count = rng.poisson(per_km2 * (STEP / 1000) ** 2)
    bi, bj = np.repeat(ii, count), np.repeat(jj, count)
    xy = np.column_stack([f.x0 + (bi + rng.uniform(0.1, 0.9, len(bi))) * STEP,
                          f.y0 + (bj + rng.uniform(0.1, 0.9, len(bj))) * STEP])
    names = list(roads.nearest_name(xy))
    n_street = len(xy)
    for p in parks:
        c = p["geom"].representative_point()
        blk = (int((c.x - f.x0) // STEP), int((c.y - f.y0) // STEP))
        if p["green_class"] in ("G11", "G12", "G13") and not in_zone(*blk, TOILET_DESERTS):
            k = 1 if p["green_class"] == "G12" else 2
            xy = np.vstack([xy, _sample_in(p["geom"], rng, k)])
            names += [p["name"]] * k
    in_park = np.arange(len(xy)) >= n_street
    # Outside the central box: a handful around each outer district's centre.
    for d in f.districts:
        if d["central_city"]:
            continue
        c = d["geom"].representative_point()
        pts = np.column_stack([c.x + rng.normal(0, 1500, outer_per_district), c.y + rng.normal(0, 1500, outer_per_district)])
        xy = np.vstack([xy, pts])
        names += [f"{d['name_zh']}城区"] * outer_per_district
    m = len(xy)
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        names[k] = f"{name}{seen[name]}号"
    base = common(rng, m, ("2005-01-01", "2025-06-30"))
    ttype = pick(rng, {"standalone": 0.5, "attached": 0.4, "mobile": 0.1}, m)
    access = pick(rng, {"municipal": 0.63, "social_unit_open": 0.32, "shared_platform": 0.05}, m)
    access[:len(in_park)][in_park] = "park_internal"
    roll = rng.random((m, 6))
    rows = []
    for k in range(m):
        mobile = ttype[k] == "mobile"
        cls = "mobile" if mobile else str(pick(rng, {"I": 0.25, "II": 0.55, "III": 0.2}, 1)[0])
        h24 = bool(roll[k, 0] < 0.35)
        closed = roll[k, 1] < 0.03
        social = access[k] == "social_unit_open"
        rows.append({
            **base[k], "name": f"{names[k]}公厕", "toilet_type": str(ttype[k]), "toilet_class": cls,
            "public_access": str(access[k]), "is_24h": h24,
            "opening_hours": "24/7" if h24 else ("Mo-Fr 08:00-18:00" if social else "Mo-Su 05:30-23:00"),
            "fee": False, "family_room": bool(roll[k, 2] < {"I": 0.9, "II": 0.4, "III": 0.05, "mobile": 0.0}[cls]),
            "mother_baby_room": bool(cls == "I" and roll[k, 3] < 0.7),
            "accessible": bool(cls != "mobile" and roll[k, 4] < 0.8),
            "stalls_male": int(rng.integers(1, 3) if mobile else rng.integers(2, 8)),
            "stalls_female": int(rng.integers(1, 3) if mobile else rng.integers(3, 12)),
            "urinals": int(0 if mobile else rng.integers(2, 8)), "stalls_accessible": int(cls in ("I", "II")),
            "owner": None if social else "PARKS" if access[k] == "park_internal" else "SANIT",
            "authority": "CGJ", "complaint_phone": "12319",
            "status": "temporarily_closed" if closed else "in_service",
            "closure_reason": str(pick(rng, {"maintenance": 0.6, "utility_outage": 0.2, "unpaid_bills": 0.1,
                                             "other": 0.1}, 1)[0]) if closed else None,
            "reopen_date": dates(rng, "2026-12-01", "2027-03-31", 1)[0] if closed else None,
            "condition": "damaged" if closed and roll[k, 5] < 0.5 else "intact",
        })
    out = place(f, xy, rows)
    for r in out:
        # District-run toilets are managed by the district; the rest by the city sanitation office.
        gov = r["district_code"] in DISTRICT_GOVS and r["owner"] == "SANIT"
        r["manager"] = f"DG{r['district_code']}" if gov else r["owner"] or "SANIT"
        r["maintainer"] = r["manager"]
    return out


# --- street furniture -------------------------------------------------------------------------

def street_furniture(f: Frame, roads: Roads, rng: np.random.Generator, stops: list[dict],
                     parks: list[dict], size: int = 4500) -> list[dict]:
    """Bins, bollards, benches, signs, cabinets, shelters, ground locks and drinking water."""
    rows, xys = [], []

    def add(xy: np.ndarray, make) -> None:
        for p in xy:
            rows.append(make())
            xys.append(p)

    bins = int(size * 0.42)
    seg, dist, off = roads.streets(rng, {"main": 60.0, "secondary": 60.0}, bins,
                                   {c: (HALF_WIDTH[c] + 2, -(HALF_WIDTH[c] + 2)) for c in ("main", "secondary")})
    add(roads.xy(seg, dist, off)[:bins], lambda: {
        "category": "litter_bin", "owner": "SANIT", "capacity_l": float(rng.choice([120, 240])),
        "compartments": str(rng.choice(["other+recyclable", "kitchen+other", "other+recyclable+hazardous"])),
        "material": str(rng.choice(["不锈钢", "镀锌钢板", "塑料"]))})
    stop_xy = np.array([[s["geom"].x, s["geom"].y] for s in stops])
    shelters = stop_xy[rng.random(len(stop_xy)) < 0.35]
    add(shelters + 2.0, lambda: {"category": "shelter", "owner": "BUS", "seats": int(rng.integers(3, 7)),
                                 "material": "不锈钢+钢化玻璃"})
    seg, dist = roads.random(rng, int(size * 0.14), {"branch": 1.0, "secondary": 0.3})
    add(roads.xy(seg, np.minimum(dist, 14.0), roads.hw[seg] + 1.0), lambda: {
        "category": "bollard", "bollard_type": str(pick(rng, {"fixed": 0.6, "removable": 0.15, "rising": 0.05,
                                                              "foldable": 0.05, "flexible": 0.15}, 1)[0]),
        "height_m": round(float(rng.uniform(0.6, 1.0)), 2), "reflective": bool(rng.random() < 0.7),
        "material": str(rng.choice(["不锈钢", "铸铁", "大理石"]))})
    big = [p["geom"] for p in parks if p["green_class"] in ("G11", "G12", "G13")]
    bench_xy = np.vstack([_sample_in(g, rng, 4) for g in big])
    add(bench_xy, lambda: {"category": "bench", "owner": "PARKS", "seats": int(rng.integers(2, 5)),
                           "backrest": bool(rng.random() < 0.6), "material": str(rng.choice(["防腐木", "石材", "铸铝+木"]))})
    water_xy = np.vstack([_sample_in(g, rng, 1) for g in big[::3]])
    add(water_xy, lambda: {"category": "drinking_water", "owner": "WATER"})
    seg, dist = roads.random(rng, int(size * 0.1), {"main": 1.0, "secondary": 1.0, "branch": 0.5})
    sign_xy = roads.xy(seg, np.minimum(dist, 20.0), -(roads.hw[seg] + 1.5))
    sign_names = roads.name[seg]
    it = iter(sign_names)
    add(sign_xy, lambda: _sign(rng, next(it)))
    seg, dist = roads.random(rng, int(size * 0.1), {"main": 1.0, "secondary": 1.0, "branch": 0.6})
    add(roads.xy(seg, dist, roads.hw[seg] + 4.0), lambda: _cabinet(rng))
    seg, dist = roads.random(rng, int(size * 0.03), {"branch": 1.0})
    add(roads.xy(seg, dist, -(roads.hw[seg] + 3.0)), lambda: {"category": "ground_lock", "material": "钢"})
    base = common(rng, len(rows), ("2012-01-01", "2025-06-30"))
    cond = pick(rng, {"intact": 0.9, "damaged": 0.06, "missing": 0.01, "obstructed": 0.01, "unknown": 0.02}, len(rows))
    rows = [{**b, **r, "authority": "CGJ", "condition": str(c)} for b, r, c in zip(base, rows, cond)]
    out = place(f, np.array(xys), rows)
    for r in out:
        if r["category"] == "bollard":
            r["owner"] = f"DG{r['district_code']}" if r["district_code"] in DISTRICT_GOVS else None
        r["maintainer"] = "MAINT1" if r.get("owner") in ("SANIT", "BUS", "CGJ", None) else r.get("owner")
    return out


def _sample_in(geom, rng: np.random.Generator, k: int) -> np.ndarray:
    """k random points inside a polygon (rejection sampling in its bounds)."""
    x0, y0, x1, y1 = geom.bounds
    pts = []
    while len(pts) < k:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(geom, x, y):
            pts.append((x, y))
    return np.array(pts)


def _sign(rng: np.random.Generator, road: str) -> dict:
    kind = str(pick(rng, {"road_name": 0.45, "toilet_direction": 0.2, "park_direction": 0.15, "guidance": 0.15,
                          "other": 0.05}, 1)[0])
    text = {"road_name": (road, None), "toilet_direction": ("公共厕所 100米", "Toilet 100 m"),
            "park_direction": ("公园", "Park"), "guidance": (f"{road} 前方路口", None), "other": ("文明城市", None)}[kind]
    owner = {"road_name": "CGJ", "toilet_direction": "SANIT", "park_direction": "PARKS", "guidance": "POLICE"}.get(kind, "CGJ")
    return {"category": "sign", "sign_kind": kind, "text_zh": text[0], "text_en": text[1], "owner": owner,
            "height_m": 3.0, "material": "铝板"}


def _cabinet(rng: np.random.Generator) -> dict:
    util = str(pick(rng, {"power": 0.3, "telecom": 0.25, "street_lighting": 0.2, "traffic": 0.1, "combined": 0.15}, 1)[0])
    owner = {"power": "POWER", "street_lighting": "LIGHT", "traffic": "POLICE", "combined": "CGJ"}.get(util) \
        or CARRIERS[int(rng.integers(3))]
    return {"category": "cabinet", "cabinet_utility": util, "owner": owner, "height_m": 1.6, "material": "不锈钢"}
