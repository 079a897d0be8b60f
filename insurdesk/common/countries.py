"""Countries and regions by their GB/T 2659 (ISO 3166-1) three-letter code, named in Chinese.

The archive stores the code (CHN); pages show the name (中国). Codes missing here show as themselves.
"""

from django.utils.translation import gettext_noop as N_

# Ordered as a select offers them: China and its regions first, then the usual countries of customers.
COUNTRIES: dict[str, str] = {
    "CHN": N_("中国"), "HKG": N_("中国香港"), "MAC": N_("中国澳门"), "TWN": N_("中国台湾"),
    "USA": N_("美国"), "CAN": N_("加拿大"), "GBR": N_("英国"), "FRA": N_("法国"), "DEU": N_("德国"),
    "ITA": N_("意大利"), "ESP": N_("西班牙"), "PRT": N_("葡萄牙"), "NLD": N_("荷兰"), "BEL": N_("比利时"),
    "CHE": N_("瑞士"), "AUT": N_("奥地利"), "SWE": N_("瑞典"), "NOR": N_("挪威"), "DNK": N_("丹麦"),
    "FIN": N_("芬兰"), "IRL": N_("爱尔兰"), "POL": N_("波兰"), "CZE": N_("捷克"), "HUN": N_("匈牙利"),
    "GRC": N_("希腊"), "TUR": N_("土耳其"), "RUS": N_("俄罗斯"), "UKR": N_("乌克兰"), "BLR": N_("白俄罗斯"),
    "KAZ": N_("哈萨克斯坦"), "UZB": N_("乌兹别克斯坦"), "KGZ": N_("吉尔吉斯斯坦"), "MNG": N_("蒙古"),
    "JPN": N_("日本"), "KOR": N_("韩国"), "PRK": N_("朝鲜"), "VNM": N_("越南"), "LAO": N_("老挝"),
    "KHM": N_("柬埔寨"), "THA": N_("泰国"), "MMR": N_("缅甸"), "MYS": N_("马来西亚"), "SGP": N_("新加坡"),
    "IDN": N_("印度尼西亚"), "PHL": N_("菲律宾"), "BRN": N_("文莱"), "IND": N_("印度"), "PAK": N_("巴基斯坦"),
    "BGD": N_("孟加拉国"), "NPL": N_("尼泊尔"), "LKA": N_("斯里兰卡"), "AFG": N_("阿富汗"), "IRN": N_("伊朗"),
    "IRQ": N_("伊拉克"), "SAU": N_("沙特阿拉伯"), "ARE": N_("阿拉伯联合酋长国"), "QAT": N_("卡塔尔"),
    "ISR": N_("以色列"), "EGY": N_("埃及"), "ZAF": N_("南非"), "NGA": N_("尼日利亚"), "KEN": N_("肯尼亚"),
    "ETH": N_("埃塞俄比亚"), "MAR": N_("摩洛哥"), "AUS": N_("澳大利亚"), "NZL": N_("新西兰"),
    "MEX": N_("墨西哥"), "BRA": N_("巴西"), "ARG": N_("阿根廷"), "CHL": N_("智利"), "PER": N_("秘鲁"),
    "COL": N_("哥伦比亚"), "VEN": N_("委内瑞拉"), "CUB": N_("古巴"),
}  # fmt: skip


def country_name(code: str | None) -> str:
    """Return the Chinese name of a GB/T 2659 code ("CHN" -> "中国"); an unknown code as it is."""
    if not code:
        return ""
    return COUNTRIES.get(code.strip().upper(), code)


def country_choices() -> list[tuple[str, str]]:
    return list(COUNTRIES.items())
