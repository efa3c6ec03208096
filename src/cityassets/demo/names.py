"""Static demo data: organisations, road and park names, species, compound names."""

from __future__ import annotations

#: (code, Chinese name, English name, org_type, parent, contact phone, complaint phone)
ORGANISATIONS: list[tuple[str, str, str, str, str | None, str | None, str | None]] = [
    ("CGJ", "郑州市城市管理局", "Zhengzhou City Management Bureau", "government_dept", None, None, "12319"),
    ("WATER", "郑州自来水投资控股有限公司", "Zhengzhou Water Supply", "utility_company", None, None, None),
    ("DRAIN", "郑州市排水管理中心", "Zhengzhou Drainage Centre", "government_dept", "CGJ", None, "12319"),
    ("GAS", "郑州华润燃气股份有限公司", "China Resources Gas Zhengzhou", "utility_company", None, None, None),
    ("POWER", "国网郑州供电公司", "State Grid Zhengzhou Power Supply", "state_enterprise", None, None, "95598"),
    ("HEAT", "郑州热力集团有限公司", "Zhengzhou Heating Group", "utility_company", None, None, None),
    ("CATV", "河南有线电视网络集团郑州分公司", "Henan Cable TV Zhengzhou", "state_enterprise", None, None, None),
    ("CMCC", "中国移动郑州分公司", "China Mobile Zhengzhou", "carrier", None, None, "10086"),
    ("CUCC", "中国联通郑州分公司", "China Unicom Zhengzhou", "carrier", None, None, "10010"),
    ("CTCC", "中国电信郑州分公司", "China Telecom Zhengzhou", "carrier", None, None, "10000"),
    ("LIGHT", "郑州市城市照明管理处", "Zhengzhou Street Lighting Office", "government_dept", "CGJ", None, "12319"),
    ("SANIT", "郑州市环境卫生处", "Zhengzhou Sanitation Office", "government_dept", "CGJ", None, "12319"),
    ("PARKS", "郑州市园林局", "Zhengzhou Parks Bureau", "government_dept", None, None, "12319"),
    ("POLICE", "郑州市公安局交通警察支队", "Zhengzhou Traffic Police", "government_dept", None, None, "122"),
    ("BUS", "郑州市公共交通集团有限公司", "Zhengzhou Bus Group", "state_enterprise", None, None, None),
    ("DG410102", "中原区人民政府", "Zhongyuan District Government", "district_gov", None, None, "12345"),
    ("DG410103", "二七区人民政府", "Erqi District Government", "district_gov", None, None, "12345"),
    ("DG410104", "管城回族区人民政府", "Guancheng District Government", "district_gov", None, None, "12345"),
    ("DG410105", "金水区人民政府", "Jinshui District Government", "district_gov", None, None, "12345"),
    ("DG410108", "惠济区人民政府", "Huiji District Government", "district_gov", None, None, "12345"),
    ("MAINT1", "郑州市政养护工程有限公司", "Zhengzhou Municipal Maintenance Co. (demo)", "contractor", None, None, None),
    ("MAINT2", "河南中原园林绿化工程有限公司", "Henan Zhongyuan Landscaping Co. (demo)", "contractor", None, None, None),
]

#: East-west main roads, south to north (the outermost pair are the ring expressway).
EW_MAIN = ["南三环", "航海路", "陇海路", "中原路", "建设路", "金水路", "农业路", "东风路", "国基路", "天河路", "北三环"]
#: North-south main roads, west to east.
NS_MAIN = ["西三环", "秦岭路", "嵩山路", "桐柏路", "大学路", "京广路", "紫荆山路", "未来路", "中州大道", "龙湖外环", "东三环"]
EW_SECONDARY = ["长江路", "淮河路", "兴华街", "伏牛路", "郑上路", "政七街", "纬五路", "红专路", "开元路", "宏达路"]
NS_SECONDARY = ["华山路", "工人路", "铭功路", "二七路", "城东路", "经三路", "文化路", "花园路", "丰庆路", "七里河路"]
BRANCH_STEMS = ["康复", "兴隆", "福寿", "德化", "顺河", "敦睦", "乔家门", "西大", "东明", "优胜", "锦艺", "汝河",
                "颍河", "洛河", "沙河", "黄河", "伊河", "贾鲁", "索须", "金梭", "银梭", "玉凤", "青年", "杜岭",
                "商城", "书院", "民主", "解放", "人民", "政通", "经纬", "华彩", "文博", "科源", "梧桐", "杨柳",
                "丁香", "紫藤", "海棠", "玉兰"]

RIVER = "金水河"

PARKS_G11 = ["人民公园", "紫荆山公园", "碧沙岗公园", "月季公园", "西流湖公园", "绿荫公园", "中央公园", "市民公园",
             "世纪公园", "森林公园", "商都遗址公园", "龙湖公园"]
PARKS_G13 = ["郑州动物园", "郑州植物园"]
PARK_STEMS = ["东风", "文化", "经三", "黄河", "秦岭", "淮河", "民主", "杜岭", "兴华", "书院", "福寿", "汝河", "伏牛",
              "长江", "金水", "商城", "红专", "丰庆", "城东", "工人"]

COMPOUND_BRANDS = ["建业", "正商", "永威", "鑫苑", "康桥", "碧源", "美景", "升龙", "亚星", "绿城", "万科", "保利",
                   "名门", "昌建", "英协", "天明", "瀚海", "金融", "阳光", "幸福"]
COMPOUND_MIDDLES = ["城市", "世纪", "东方", "天地", "丽景", "御园", "翰林", "春天", "书香", "凤凰", "金水", "嵩山",
                    "锦绣", "海棠", "紫荆", "国际", "桂园", "清华", "花溪", "香榭"]
COMPOUND_SUFFIXES = ["花园", "家园", "小区", "苑", "新城", "华府", "雅居", "公馆", "社区", "公寓"]

#: (Latin, Chinese, typical DBH cm, typical height m) of common Zhengzhou street trees.
SPECIES: list[tuple[str, str, float, float]] = [
    ("Platanus × acerifolia", "悬铃木（法桐）", 35, 15),
    ("Styphnolobium japonicum", "国槐", 28, 11),
    ("Koelreuteria paniculata", "栾树", 22, 9),
    ("Ligustrum lucidum", "女贞", 18, 7),
    ("Fraxinus chinensis", "白蜡", 20, 9),
    ("Ginkgo biloba", "银杏", 20, 10),
    ("Cedrus deodara", "雪松", 30, 12),
    ("Salix babylonica", "垂柳", 30, 10),
    ("Ulmus pumila", "榆树", 25, 10),
    ("Zelkova serrata", "榉树", 18, 9),
]
