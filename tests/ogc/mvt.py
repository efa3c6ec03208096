"""A minimal Mapbox Vector Tile 2.1 decoder (protobuf by hand): layers, feature ids, types, tags, points."""

from __future__ import annotations

import math


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = out = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return out, i


def _fields(buf: bytes):
    """(field number, wire type, value) of one protobuf message; length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, val


def _packed(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes):
    import struct

    for num, _, val in _fields(buf):
        if num == 1:
            return val.decode()
        if num == 2:
            return struct.unpack("<f", val)[0]
        if num == 3:
            return struct.unpack("<d", val)[0]
        if num in (4, 5):
            return val
        if num == 6:
            return _zigzag(val)
        if num == 7:
            return bool(val)
    return None


def decode(tile: bytes) -> dict[str, dict]:
    """{layer name: {"extent": n, "features": [{"id", "type", "properties", "first": (x, y)}]}}."""
    layers = {}
    for num, _, lbuf in _fields(tile):
        if num != 3:
            continue
        name, keys, values, feats, extent = None, [], [], [], 4096
        for lnum, _, lval in _fields(lbuf):
            if lnum == 1:
                name = lval.decode()
            elif lnum == 2:
                feats.append(lval)
            elif lnum == 3:
                keys.append(lval.decode())
            elif lnum == 4:
                values.append(_value(lval))
            elif lnum == 5:
                extent = lval
        out = []
        for fbuf in feats:
            f = {"id": None, "type": None, "properties": {}, "first": None}
            for fnum, _, fval in _fields(fbuf):
                if fnum == 1:
                    f["id"] = fval
                elif fnum == 2:
                    tags = _packed(fval)
                    f["properties"] = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
                elif fnum == 3:
                    f["type"] = {1: "Point", 2: "LineString", 3: "Polygon"}[fval]
                elif fnum == 4:
                    cmds = _packed(fval)
                    f["first"] = (_zigzag(cmds[1]), _zigzag(cmds[2]))
            out.append(f)
        layers[name] = {"extent": extent, "features": out}
    return layers


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile containing a CRS84 position."""
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y
