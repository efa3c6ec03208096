"""cityassets.vocabularies: controlled value lists with Chinese and English labels.

Codes are stable English identifiers (they end up in CHECK constraints, JSON Schema enums and
WFS filters); labels follow domain-model.md §5 (城管 部件 attributes, QGEP/OSM/OTM value lists).
"""

from __future__ import annotations

Vocabulary = dict[str, tuple[str, str]]  # code -> (zh, en)

LIFECYCLE_STATUS: Vocabulary = {
    "planned": ("规划", "planned"),
    "under_construction": ("在建", "under construction"),
    "in_service": ("在用", "in service"),
    "in_service_provisional": ("临时使用", "in service (provisional)"),
    "temporarily_closed": ("暂停使用", "temporarily closed"),
    "to_be_removed": ("待拆除", "to be removed"),
    "decommissioned_in_place": ("废弃未拆除", "decommissioned in place"),
    "removed": ("已拆除", "removed"),
    "unknown": ("未知", "unknown"),
}

CONDITION: Vocabulary = {
    "intact": ("完好", "intact"),
    "damaged": ("破损", "damaged"),
    "missing": ("丢失", "missing"),
    "sunken": ("沉陷", "sunken"),
    "obstructed": ("占用", "obstructed"),
    "unknown": ("未知", "unknown"),
}

POSITION_ACCURACY: Vocabulary = {
    "3cm": ("±3厘米", "±3 cm"),
    "10cm": ("±10厘米", "±10 cm"),
    "50cm": ("±50厘米", "±50 cm"),
    "over_50cm": ("大于50厘米", "> 50 cm"),
    "unknown": ("未知", "unknown"),
}

SURVEY_METHOD: Vocabulary = {
    "rtk": ("RTK测量", "RTK GNSS"),
    "total_station": ("全站仪", "total station"),
    "handheld_gnss": ("手持GNSS", "handheld GNSS"),
    "phone": ("手机定位", "phone"),
    "digitised": ("图上采集", "digitised"),
    "imported": ("导入", "imported"),
}

UTILITY_TYPE: Vocabulary = {
    "water_supply": ("上水", "water supply"),
    "sewage": ("污水", "sewage"),
    "storm": ("雨水", "storm water"),
    "storm_grate": ("雨水箅子", "storm grate"),
    "reclaimed": ("中水", "reclaimed water"),
    "power": ("电力", "power"),
    "street_lighting": ("路灯", "street lighting"),
    "telecom": ("通讯", "telecom"),
    "cable_tv": ("电视", "cable TV"),
    "network": ("网络", "network"),
    "heat": ("热力", "heat"),
    "gas": ("燃气", "gas"),
    "police": ("公安", "police"),
    "fire": ("消防", "fire"),
    "bus": ("公交", "bus"),
    "oil_gas": ("输油（气）", "oil/gas pipeline"),
    "special": ("特殊", "special"),
    "ownerless": ("无主", "ownerless"),
}

COVER_MATERIAL: Vocabulary = {
    "cast_iron": ("铸铁", "cast iron"),
    "ductile_iron": ("球墨铸铁", "ductile iron"),
    "composite": ("复合材料", "composite (resin)"),
    "concrete": ("混凝土", "concrete"),
    "steel": ("钢", "steel"),
    "cast_iron_with_pavement_filling": ("铸铁嵌铺装", "cast iron with pavement filling"),
    "other": ("其他", "other"),
}

COVER_SHAPE: Vocabulary = {
    "round": ("圆形", "round"),
    "rectangular": ("方形", "rectangular"),
    "other": ("其他", "other"),
}

LOAD_CLASS: Vocabulary = {  # GB/T 23858 / EN 124
    "A15": ("A15", "A15 pedestrian"),
    "B125": ("B125", "B125 footway"),
    "C250": ("C250", "C250 kerbside"),
    "D400": ("D400", "D400 carriageway"),
    "E600": ("E600", "E600 docks"),
    "F900": ("F900", "F900 airfields"),
}

WELL_FUNCTION: Vocabulary = {
    "inspection": ("检查井", "inspection"),
    "gully": ("雨水口", "gully"),
    "valve": ("阀门井", "valve"),
    "meter": ("水表井", "meter"),
    "junction": ("接户井", "junction"),
    "drop": ("跌水井", "drop"),
    "venting": ("通风井", "venting"),
    "other": ("其他", "other"),
}

TREE_HEALTH: Vocabulary = {
    "good": ("良好", "good"),
    "fair": ("一般", "fair"),
    "poor": ("较差", "poor"),
    "dead": ("死亡", "dead"),
}

TREE_STATUS: Vocabulary = {
    "alive": ("存活", "alive"),
    "dead_standing": ("枯立", "dead standing"),
    "stump": ("树桩", "stump"),
    "vacant_site": ("空穴", "vacant pit"),
}

HERITAGE_GRADE: Vocabulary = {
    "none": ("非古树", "not heritage"),
    "grade_1": ("一级古树", "heritage grade 1"),
    "grade_2": ("二级古树", "heritage grade 2"),
    "grade_3": ("三级古树", "heritage grade 3"),
    "notable": ("名木", "notable tree"),
}

PIT_SHAPE: Vocabulary = {
    "square": ("方形", "square"),
    "rectangular": ("矩形", "rectangular"),
    "round": ("圆形", "round"),
    "strip": ("带状", "strip"),
    "none": ("无树池", "no pit"),
}

PIT_SURFACE: Vocabulary = {
    "grate": ("篦子", "grate"),
    "permeable_paving": ("透水铺装", "permeable paving"),
    "gravel": ("砾石", "gravel"),
    "soil": ("裸土", "bare soil"),
    "groundcover": ("地被", "groundcover"),
    "raised_bed": ("抬高种植池", "raised bed"),
}

TREE_SUPPORT: Vocabulary = {
    "none": ("无", "none"),
    "stakes": ("支撑杆", "stakes"),
    "guy_wires": ("拉线", "guy wires"),
    "frame": ("支架", "frame"),
}

CHIP_TYPE: Vocabulary = {
    "rfid": ("RFID芯片", "RFID chip"),
    "nfc": ("NFC芯片", "NFC chip"),
    "qr": ("二维码", "QR plate"),
}

CHIP_STATUS: Vocabulary = {
    "active": ("有效", "active"),
    "lost": ("丢失", "lost"),
    "damaged": ("损坏", "damaged"),
    "replaced": ("已更换", "replaced"),
}

POLE_TYPE: Vocabulary = {
    "single_arm": ("单臂", "single arm"),
    "double_arm": ("双臂", "double arm"),
    "high_mast": ("高杆", "high mast"),
    "mid_mast": ("中杆", "mid mast"),
    "garden": ("庭院灯", "garden"),
    "integrated_smart": ("综合杆（多杆合一）", "integrated smart pole"),
}

ROAD_CLASS: Vocabulary = {
    "expressway": ("快速路", "expressway"),
    "main": ("主干路", "main road"),
    "secondary": ("次干路", "secondary road"),
    "branch": ("支路", "branch road"),
    "pedestrian": ("步行街", "pedestrian street"),
    "park_path": ("滨河公园步道", "riverside / park path"),
}

CONTROL_MODE: Vocabulary = {
    "timer": ("时控", "timer"),
    "photocell": ("光控", "photocell"),
    "central_remote": ("集中遥控", "central remote"),
    "single_lamp_controller": ("单灯控制", "single-lamp controller"),
}

DEVICE_TYPE: Vocabulary = {
    "luminaire": ("灯具", "luminaire"),
    "traffic_signal": ("交通信号灯", "traffic signal"),
    "traffic_sign": ("交通标志牌", "traffic sign"),
    "camera": ("监控电子眼", "camera"),
    "guidance_screen": ("诱导屏", "guidance screen"),
    "road_name_plate": ("路名牌", "road-name plate"),
    "small_cell_5g": ("5G微基站", "5G micro-cell"),
    "env_sensor": ("环境传感器", "environment sensor"),
    "speaker": ("广播", "speaker"),
    "emergency_call": ("一键报警", "emergency call"),
    "ev_charger": ("充电桩", "EV charger"),
    "wifi_ap": ("无线热点", "Wi-Fi access point"),
    "other": ("其他", "other"),
}

LIGHT_METHOD: Vocabulary = {
    "LED": ("LED", "LED"),
    "HPS": ("高压钠灯", "high-pressure sodium"),
    "MH": ("金卤灯", "metal halide"),
    "fluorescent": ("荧光灯", "fluorescent"),
    "induction": ("无极灯", "induction"),
    "other": ("其他", "other"),
}

TOILET_TYPE: Vocabulary = {
    "standalone": ("独立式", "standalone"),
    "attached": ("附属式", "attached"),
    "mobile": ("活动式", "mobile"),
}

TOILET_CLASS: Vocabulary = {  # CJJ 14
    "I": ("一类", "class I"),
    "II": ("二类", "class II"),
    "III": ("三类", "class III"),
    "mobile": ("活动式", "mobile (no class)"),
}

PUBLIC_ACCESS: Vocabulary = {
    "municipal": ("环卫公厕", "municipal"),
    "social_unit_open": ("社会单位开放", "social unit open to the public"),
    "shared_platform": ("共享公厕", "shared (platform)"),
    "park_internal": ("公园内部", "inside a park"),
}

CLOSURE_REASON: Vocabulary = {
    "maintenance": ("维修", "maintenance"),
    "utility_outage": ("停水停电", "utility outage"),
    "unpaid_bills": ("欠费", "unpaid bills"),
    "event": ("活动", "event"),
    "safety": ("安全", "safety"),
    "other": ("其他", "other"),
}

FURNITURE_CATEGORY: Vocabulary = {
    "litter_bin": ("果皮箱", "litter bin"),
    "bollard": ("隔离桩", "bollard / isolation post"),
    "ground_lock": ("地锁", "ground lock"),
    "bench": ("座椅", "bench"),
    "sign": ("标识牌", "sign"),
    "cabinet": ("箱体（多箱合一）", "cabinet / box"),
    "shelter": ("候车亭", "shelter"),
    "drinking_water": ("直饮水点", "drinking-water point"),
}

BOLLARD_TYPE: Vocabulary = {
    "fixed": ("固定", "fixed"),
    "removable": ("可移除", "removable"),
    "rising": ("升降", "rising"),
    "foldable": ("可折叠", "foldable"),
    "flexible": ("柔性", "flexible"),
}

SIGN_KIND: Vocabulary = {
    "traffic_sign": ("交通标志", "traffic sign"),
    "guidance": ("指路标志", "guidance"),
    "road_name": ("路名牌", "road name"),
    "toilet_direction": ("公厕指示牌", "toilet direction"),
    "park_direction": ("公园指示牌", "park direction"),
    "other": ("其他", "other"),
}

CABINET_UTILITY: Vocabulary = {
    "power": ("电力", "power"),
    "telecom": ("通讯", "telecom"),
    "street_lighting": ("路灯", "street lighting"),
    "traffic": ("交通", "traffic"),
    "combined": ("多箱合一", "combined"),
    "other": ("其他", "other"),
}

GREEN_CLASS: Vocabulary = {  # CJJ/T 85-2017
    "G11": ("综合公园", "comprehensive park"),
    "G12": ("社区公园", "community park"),
    "G13": ("专类公园", "specialised park"),
    "G14": ("游园", "small garden"),
    "G2": ("防护绿地", "protective green"),
    "G3": ("广场用地", "square"),
    "XG": ("附属绿地", "attached green"),
    "EG": ("区域绿地", "regional green"),
}

FACILITY_CATEGORY: Vocabulary = {
    "bus_stop": ("公交站", "bus stop"),
    "kindergarten": ("幼儿园", "kindergarten"),
    "primary_school": ("小学", "primary school"),
    "middle_school": ("中学", "middle school"),
    "hospital": ("医院", "hospital"),
    "clinic": ("社区卫生服务站", "community clinic"),
    "market": ("菜市场", "market"),
    "community_centre": ("社区服务中心", "community centre"),
    "sports": ("体育设施", "sports facility"),
    "other": ("其他", "other"),
}

LAND_USE: Vocabulary = {  # GB 50137 residential classes
    "R1": ("一类居住用地", "residential class 1"),
    "R2": ("二类居住用地", "residential class 2"),
    "R3": ("三类居住用地", "residential class 3"),
}

ORG_TYPE: Vocabulary = {
    "government_dept": ("政府部门", "government department"),
    "district_gov": ("区政府", "district government"),
    "state_enterprise": ("国有企业", "state enterprise"),
    "utility_company": ("公用事业单位", "utility company"),
    "carrier": ("通信运营商", "telecom carrier"),
    "contractor": ("养护单位", "contractor"),
    "community": ("社区", "community"),
    "private": ("私营单位", "private"),
}
