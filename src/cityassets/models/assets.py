"""cityassets.models.assets: the street-asset collections (domain-model.md §5.7)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, text

from cityassets import vocabularies as v
from cityassets.models.common import (
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Integer,
    Text,
    asset_table,
    info,
    vocab_col,
)

manholes = asset_table(
    "manholes",
    "Point",
    [
        vocab_col("utility_type", v.UTILITY_TYPE, "井盖类型", "utility type", required=True),
        Column("ownership_confirmed", Boolean, info=info("已确权", "ownership confirmed (确权)")),
        Column("owner_mark", Boolean, info=info("有产权标识", "owner mark present (产权标识)")),
        vocab_col("cover_material", v.COVER_MATERIAL, "井盖材质", "cover material"),
        vocab_col("cover_shape", v.COVER_SHAPE, "井盖形状", "cover shape"),
        Column("cover_diameter_mm", Integer, info=info("井盖直径(毫米)", "cover diameter, mm", minimum=100, maximum=3000)),
        Column("cover_length_mm", Integer, info=info("井盖长(毫米)", "cover length, mm", minimum=100, maximum=5000)),
        Column("cover_width_mm", Integer, info=info("井盖宽(毫米)", "cover width, mm", minimum=100, maximum=5000)),
        vocab_col("load_class", v.LOAD_CLASS, "承载等级", "load class (GB/T 23858 / EN 124)"),
        Column("anti_fall_device", Boolean, info=info("防坠装置", "anti-fall device (防坠网)")),
        vocab_col("well_function", v.WELL_FUNCTION, "井功能", "well function"),
        Column("depth_m", Double, info=info("井深(米)", "depth, m", minimum=0, maximum=50)),
        Column("provincial_cover_no", Text,
               info=info("省级井盖编号", "provincial 19-digit cover number", pattern=r"^\d{19}$", match_key=True)),
        Column("sensor_id", Text, info=info("传感器编号", "smart-cover sensor id")),
    ],
)

# Unique where assigned (most covers have no provincial number yet): a partial index keeps bulk inserts
# from adding a NULL entry per row (migration 0007).
Index("uq_manholes_provincial_cover_no", manholes.c.provincial_cover_no, unique=True,
      postgresql_where=text("provincial_cover_no IS NOT NULL"))

trees = asset_table(
    "trees",
    "Point",
    [
        Column("species_latin", Text, info=info("学名", "species, Latin name", max_length=120)),
        Column("species_zh", Text, info=info("树种", "species, Chinese name", max_length=60)),
        Column("dbh_cm", Double, info=info("胸径(厘米)", "diameter at breast height, cm", minimum=0, maximum=500)),
        Column("dbh_height_m", Double, server_default=text("1.3"),
               info=info("胸径测量高度(米)", "height at which DBH was measured, m", minimum=0.5, maximum=2.0)),
        Column("height_m", Double, info=info("树高(米)", "height, m", minimum=0, maximum=80)),
        Column("crown_diameter_m", Double, info=info("冠幅(米)", "crown diameter, m", minimum=0, maximum=60)),
        Column("clear_trunk_height_m", Double, info=info("枝下高(米)", "clear trunk height, m", minimum=0, maximum=30)),
        vocab_col("health", v.TREE_HEALTH, "长势", "health"),
        vocab_col("tree_status", v.TREE_STATUS, "树木状态", "tree status", default="alive"),
        vocab_col("heritage_grade", v.HERITAGE_GRADE, "古树名木等级", "heritage grade"),
        Column("planted_date", Date, info=info("种植日期", "planting date")),
        vocab_col("pit_shape", v.PIT_SHAPE, "树池形状", "tree-pit shape"),
        Column("pit_length_m", Double, info=info("树池长(米)", "tree-pit length, m", minimum=0, maximum=20)),
        Column("pit_width_m", Double, info=info("树池宽(米)", "tree-pit width, m", minimum=0, maximum=20)),
        vocab_col("pit_surface", v.PIT_SURFACE, "树池覆盖", "tree-pit surface (grate = 篦子)"),
        Column("grate_material", Text, info=info("篦子材质", "grate material")),
        vocab_col("support", v.TREE_SUPPORT, "支撑", "support / stakes"),
        vocab_col("chip_type", v.CHIP_TYPE, "芯片类型", "chip type"),
        Column("chip_uid", Text, info=info("芯片编号", "chip UID (opaque)", max_length=64, match_key=True)),
        Column("chip_bound_at", Date, info=info("芯片绑定日期", "chip bind date")),
        vocab_col("chip_status", v.CHIP_STATUS, "芯片状态", "chip status"),
    ],
    # A chip identifies one live tree; retired trees release it (a re-bound chip moves on).
    Index("uq_trees_chip_uid_live", "chip_uid", unique=True,
          postgresql_where=text("chip_uid IS NOT NULL AND retired_at IS NULL")),
)

lamp_poles = asset_table(
    "lamp_poles",
    "Point",
    [
        vocab_col("pole_type", v.POLE_TYPE, "杆型", "pole type"),
        Column("pole_height_m", Double, info=info("杆高(米)", "pole height, m", minimum=0, maximum=60)),
        Column("pole_material", Text, info=info("杆材质", "pole material")),
        Column("is_integrated", Boolean, info=info("多杆合一", "integrated pole (多杆合一)")),
        Column("road_name", Text, info=info("道路名称", "road name")),
        vocab_col("road_class", v.ROAD_CLASS, "道路等级", "road class"),
        Column("circuit_id", Text, info=info("回路编号", "circuit id")),
        Column("cabinet_code", Text, info=info("配电箱编号", "lighting cabinet asset code")),
        vocab_col("control_mode", v.CONTROL_MODE, "控制方式", "control mode"),
        Column("lit", Boolean, info=info("亮灯", "lit at the last night inspection")),
    ],
)

pole_devices = asset_table(
    "pole_devices",
    "Point",
    [
        Column("pole_code", Text, ForeignKey("lamp_poles.asset_code", onupdate="CASCADE"), nullable=False,
               info=info("灯杆编码", "asset code of the carrying lamp pole; the device takes its position",
                         required=True, ref="lamp_poles")),
        vocab_col("device_type", v.DEVICE_TYPE, "设备类型", "device type", required=True),
        vocab_col("light_method", v.LIGHT_METHOD, "光源", "light method (luminaires)"),
        Column("wattage_w", Double, info=info("功率(瓦)", "wattage, W", minimum=0, maximum=5000)),
        Column("lamp_count", Integer, info=info("灯头数", "number of lamps / modules", minimum=1, maximum=50)),
        Column("is_on", Boolean, info=info("亮灯", "on during the last check (luminaires)")),
        Column("mount_height_m", Double, info=info("安装高度(米)", "mounting height, m", minimum=0, maximum=60)),
        Column("orientation_deg", Double, info=info("朝向(度)", "orientation, degrees", minimum=0, maximum=360)),
    ],
    Index("ix_pole_devices_pole_code", "pole_code"),
)

toilets = asset_table(
    "toilets",
    "Point",
    [
        vocab_col("toilet_type", v.TOILET_TYPE, "公厕类型", "toilet type", required=True),
        vocab_col("toilet_class", v.TOILET_CLASS, "公厕类别", "class (CJJ 14)", required=True),
        vocab_col("public_access", v.PUBLIC_ACCESS, "开放类型", "public access", required=True),
        Column("opening_hours", Text, info=info("开放时间", "opening hours (OSM syntax)", max_length=200)),
        Column("is_24h", Boolean, info=info("24小时开放", "open 24 h")),
        Column("fee", Boolean, info=info("收费", "charges a fee")),
        Column("family_room", Boolean, info=info("第三卫生间", "family / third restroom")),
        Column("mother_baby_room", Boolean, info=info("母婴室", "mother-and-baby room")),
        Column("accessible", Boolean, info=info("无障碍", "step-free with an accessible stall")),
        Column("stalls_male", Integer, info=info("男厕位", "male stalls", minimum=0, maximum=200)),
        Column("stalls_female", Integer, info=info("女厕位", "female stalls", minimum=0, maximum=200)),
        Column("urinals", Integer, info=info("小便位", "urinals", minimum=0, maximum=200)),
        Column("stalls_accessible", Integer, info=info("无障碍厕位", "accessible stalls", minimum=0, maximum=50)),
        # Enforced by statement-level triggers (migration 0006), not a foreign key: row-level RI cost 0.87 s
        # per 100k rows on bulk uploads (see models.common.asset_columns).
        Column("manager", Text, info=info("管理单位", "managing organisation code", ref="organisations")),
        Column("complaint_phone", Text, info=info("监督电话", "complaint phone", max_length=40)),
        vocab_col("closure_reason", v.CLOSURE_REASON, "暂停原因", "reason when temporarily closed"),
        Column("reopen_date", Date, info=info("预计开放日期", "expected reopening date")),
    ],
    CheckConstraint("status <> 'temporarily_closed' OR closure_reason IS NOT NULL", name="closure_reason_given"),
)
# The same rule, published so validators can name it per feature before the CHECK would fire.
toilets.c.closure_reason.info["required_when"] = ("status", "temporarily_closed")

street_furniture = asset_table(
    "street_furniture",
    "Point",
    [
        vocab_col("category", v.FURNITURE_CATEGORY, "类别", "category", required=True),
        Column("material", Text, info=info("材质", "material")),
        Column("capacity_l", Double, info=info("容量(升)", "capacity, litres", minimum=0, maximum=5000, categories=["litter_bin"])),
        Column("compartments", Text, info=info("分类", "waste compartments, e.g. other+recyclable", categories=["litter_bin"])),
        vocab_col("bollard_type", v.BOLLARD_TYPE, "隔离桩类型", "bollard type"),
        Column("height_m", Double, info=info("高度(米)", "height, m", minimum=0, maximum=10)),
        Column("reflective", Boolean, info=info("反光", "reflective", categories=["bollard"])),
        Column("seats", Integer, info=info("座位数", "seats", minimum=0, maximum=50, categories=["bench", "shelter"])),
        Column("backrest", Boolean, info=info("靠背", "backrest", categories=["bench"])),
        vocab_col("sign_kind", v.SIGN_KIND, "标识类型", "sign kind"),
        Column("text_zh", Text, info=info("中文内容", "text (Chinese)", categories=["sign"])),
        Column("text_en", Text, info=info("英文内容", "text (English)", categories=["sign"])),
        vocab_col("cabinet_utility", v.CABINET_UTILITY, "箱体用途", "cabinet utility"),
    ],
)

# Category-specific vocab columns (the helper cannot carry `categories`, so they are set here).
street_furniture.c.bollard_type.info["categories"] = ["bollard"]
street_furniture.c.sign_kind.info["categories"] = ["sign"]
street_furniture.c.cabinet_utility.info["categories"] = ["cabinet"]

ASSET_TABLES = (manholes, trees, lamp_poles, pole_devices, toilets, street_furniture)
