"""Demo data (演示数据): an org tree, one login per role and a few hundred archives, all through the services.

Everything is drawn from one seeded random generator, so two loads on the same day give the same
people; dates are counted back from the load day (at the latest 2026-11-21), so expired documents and
overdue AML reviews stay expired and overdue. The identities are valid but made up: region codes,
check characters and USCC checks hold, the people do not exist.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from insurdesk.customers.bulk import customer_bulk_create
from insurdesk.customers.models import Customer
from insurdesk.customers.services import relation_add
from insurdesk.identity.testing import make_mobile, make_resident_id, make_uscc
from insurdesk.org.models import OrgUnit, Role, User
from insurdesk.org.services import unit_create, user_create

DEFAULT_PASSWORD = "insurdesk-demo"
DEFAULT_CUSTOMERS = 360  # ≈300 individuals + ≈60 companies
SEED = 20261121
REFERENCE_DATE = datetime.date(2026, 11, 21)

# (code, name, parent code, district code where its customers live)
ORG_TREE = (
    ("HQ", "总公司", None, None),
    ("GD", "广东省分公司", "HQ", None),
    ("SZ", "深圳分公司", "GD", "440305"),
    ("SZNS", "南山支公司", "SZ", "440305"),
    ("SZFT", "福田支公司", "SZ", "440304"),
    ("GZ", "广州分公司", "GD", "440106"),
    ("GZTH", "天河支公司", "GZ", "440106"),
    ("GZYX", "越秀支公司", "GZ", "440104"),
    ("FS", "佛山分公司", "GD", "440604"),
    ("FSCC", "禅城支公司", "FS", "440604"),
    ("JS", "江苏省分公司", "HQ", None),
    ("NJ", "南京分公司", "JS", "320102"),
    ("NJXW", "玄武支公司", "NJ", "320102"),
    ("NJGL", "鼓楼支公司", "NJ", "320106"),
    ("SU", "苏州分公司", "JS", "320508"),
    ("SUGS", "姑苏支公司", "SU", "320508"),
    ("SUHQ", "虎丘支公司", "SU", "320505"),
)  # fmt: skip

# (username, role, unit, full name): one login per role, plus the second clerk and agent that double
# entry (双录入) needs. The clerk's branch holds the most archives; the agent owns about forty.
DEMO_USERS = (
    ("clerk", Role.CLERK, "SZ", "林晓燕"),
    ("clerk2", Role.CLERK, "SZ", "郑伟"),
    ("reviewer", Role.REVIEWER, "SZ", "黄丽华"),
    ("agent", Role.AGENT, "SZNS", "陈志强"),
    ("agent2", Role.AGENT, "SZFT", "刘婷"),
    ("underwriter", Role.UNDERWRITER, "GD", "吴建国"),
    ("service", Role.SERVICE, "SZ", "周敏"),
    ("claims", Role.CLAIMS, "GD", "徐磊"),
    ("cs", Role.CS, "SZ", "孙悦"),
    ("compliance", Role.COMPLIANCE, "HQ", "马静"),
    ("manager", Role.MANAGER, "SZ", "王海涛"),
    ("admin", Role.ADMIN, "HQ", "赵明"),
)  # fmt: skip

# Where customers are kept: the Shenzhen branch (clerk, agents) gets the largest share.
UNIT_WEIGHTS = {"SZ": 8, "SZNS": 20, "SZFT": 15, "GZ": 3, "GZTH": 10, "GZYX": 7, "FS": 2, "FSCC": 6,
                "NJ": 3, "NJXW": 8, "NJGL": 6, "SU": 3, "SUGS": 5, "SUHQ": 4}

# district code -> (province, city, district, postal code, area code, streets)
DISTRICTS = {
    "440305": ("广东省", "深圳市", "南山区", "518052", "0755", ("科技园南路", "南海大道", "后海大道")),
    "440304": ("广东省", "深圳市", "福田区", "518048", "0755", ("深南中路", "福华路", "莲花路", "香蜜湖路")),
    "440106": ("广东省", "广州市", "天河区", "510630", "020", ("天河路", "体育西路", "黄埔大道西")),
    "440104": ("广东省", "广州市", "越秀区", "510030", "020", ("中山五路", "东风中路", "环市东路", "北京路")),
    "440604": ("广东省", "佛山市", "禅城区", "528000", "0757", ("祖庙路", "季华五路", "汾江中路")),
    "320102": ("江苏省", "南京市", "玄武区", "210018", "025", ("中山路", "北京东路", "龙蟠路", "珠江路")),
    "320106": ("江苏省", "南京市", "鼓楼区", "210009", "025", ("中山北路", "湖南路", "汉中门大街")),
    "320508": ("江苏省", "苏州市", "姑苏区", "215005", "0512", ("人民路", "干将西路", "十全街", "三香路")),
    "320505": ("江苏省", "苏州市", "虎丘区", "215011", "0512", ("狮山路", "长江路", "塔园路", "滨河路")),
}  # fmt: skip

# Birthplace address codes for resident IDs: many provinces, all in python-stdnum's table.
BIRTH_REGIONS = (
    "110105", "110108", "110102", "120101", "130102", "210102", "310104", "310115", "310101", "320102",
    "320106", "320508", "330106", "330102", "340104", "350102", "350211", "360102", "370102", "420102",
    "420106", "430104", "440104", "440106", "440304", "440305", "440604", "450105", "500103", "510107",
    "510104", "530102", "610104", "610113",
)  # fmt: skip

SURNAMES = (
    ("王", 72), ("李", 70), ("张", 66), ("刘", 53), ("陈", 45), ("杨", 31), ("黄", 23), ("赵", 20),
    ("吴", 19), ("周", 18), ("徐", 15), ("孙", 15), ("马", 13), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 10), ("林", 10), ("高", 9), ("罗", 9), ("郑", 9), ("梁", 8), ("谢", 7), ("宋", 6), ("唐", 6),
    ("许", 6), ("韩", 6), ("冯", 6), ("邓", 6), ("曹", 5), ("彭", 5), ("曾", 5), ("肖", 5), ("田", 4),
    ("董", 4), ("潘", 4), ("袁", 4), ("蔡", 4), ("蒋", 4), ("余", 4), ("于", 4), ("杜", 3), ("叶", 3),
    ("程", 3), ("魏", 3), ("苏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("卢", 3), ("姚", 3), ("沈", 3),
    ("钟", 3), ("姜", 2), ("崔", 2), ("谭", 2), ("陆", 2), ("范", 2), ("汪", 2), ("廖", 2), ("石", 2),
    ("金", 2), ("韦", 2), ("贾", 2), ("夏", 2), ("方", 2), ("邹", 2), ("熊", 2), ("白", 2), ("孟", 2),
    ("秦", 2), ("邱", 2), ("侯", 2), ("江", 2), ("尹", 1), ("薛", 1), ("段", 1), ("雷", 1), ("黎", 1),
    ("史", 1), ("陶", 1), ("贺", 1), ("顾", 1), ("龚", 1), ("邵", 1), ("单", 1), ("仇", 1), ("解", 1),
    ("欧阳", 1), ("司马", 1), ("上官", 1), ("诸葛", 1),
)  # fmt: skip
MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林建国志文海东晨峰毅"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲英燕萍红梅琳雪婷慧颖倩琪欣怡悦晶莉璐洁蓉丹薇"
YOUNG_MALE = ("子轩", "浩然", "宇航", "梓睿", "俊熙", "一鸣", "博文", "天佑", "嘉豪", "泽宇", "思远", "铭")
YOUNG_FEMALE = ("梓涵", "欣怡", "诗琪", "雨桐", "可馨", "语嫣", "若曦", "佳怡", "思彤", "一诺", "悦", "萱")

# (occupation, class 1–6, annual income range in yuan)
OCCUPATIONS = (
    ("企业内勤职员", 1, (60_000, 200_000)), ("软件工程师", 1, (150_000, 600_000)),
    ("教师", 1, (80_000, 220_000)), ("会计", 1, (70_000, 200_000)), ("医生", 1, (120_000, 500_000)),
    ("护士", 1, (70_000, 180_000)), ("律师", 1, (150_000, 800_000)), ("公务员", 1, (90_000, 250_000)),
    ("企业管理人员", 1, (200_000, 1_200_000)), ("销售人员（外勤）", 2, (60_000, 400_000)),
    ("个体工商户", 2, (80_000, 600_000)), ("保险代理人", 2, (50_000, 400_000)),
    ("厨师", 3, (60_000, 150_000)), ("出租车司机", 3, (60_000, 120_000)), ("快递员", 4, (60_000, 130_000)),
    ("货车司机", 4, (80_000, 160_000)), ("电工", 4, (70_000, 140_000)), ("建筑工人", 5, (60_000, 120_000)),
    ("高空作业人员", 6, (90_000, 180_000)),
)  # fmt: skip
EMPLOYER_WORDS = ("科技", "贸易", "物流", "建设", "医院", "学校", "银行", "餐饮", "电子", "置业")
INSURERS = ("中国人寿", "中国平安", "中国太保", "泰康养老", "新华保险", "中国人保", "太平养老", "阳光保险")
GROUP_LINES = ("团体意外伤害保险", "团体医疗保险", "团体定期寿险", "雇主责任险", "补充医疗保险")
CHANNELS = ("direct", "cross_sell", "referral", "walk_in", "online", "intermediary")
BANKS = ("中国工商银行", "中国建设银行", "招商银行", "中国银行", "交通银行", "平安银行")
FUNDS = ("工资薪金", "经营收入", "投资收益", "家庭积蓄", "退休金")

# (name word, nature, industry label, GB/T 4754 section, business scope)
INDUSTRIES = (
    ("电子科技", "private", "计算机、通信和其他电子设备制造业", "C39", "电子产品的研发、生产与销售"),
    ("软件", "private", "软件和信息技术服务业", "I65", "计算机软件开发；信息系统集成服务；数据处理服务"),
    ("建筑工程", "state", "房屋建筑业", "E47", "房屋建筑工程施工；市政公用工程施工；建筑劳务分包"),
    ("物流", "private", "道路运输业", "G54", "普通货运；仓储服务（不含危险品）；货物运输代理"),
    ("餐饮管理", "private", "餐饮业", "H62", "餐饮服务；餐饮管理咨询；预包装食品销售"),
    ("贸易", "joint", "批发业", "F51", "日用百货、五金交电、纺织品的批发与进出口"),
    ("医疗器械", "foreign", "专用设备制造业", "C35", "第二类医疗器械的生产与销售；技术服务"),
    ("置业", "private", "房地产业", "K70", "房地产开发经营；物业管理；房屋租赁"),
    ("生物医药", "private", "医药制造业", "C27", "生物制品研发；药品技术转让；实验室服务"),
    ("精密机械", "collective", "通用设备制造业", "C34", "精密零部件的加工与销售；模具设计"),
)  # fmt: skip
BRANDS = ("华创", "恒泰", "鑫达", "盛世", "宏远", "中联", "新锐", "博众", "瑞丰", "天成", "金桥", "汇通",
          "德信", "永安", "嘉和", "星辰", "海纳", "启明", "凯旋", "正源", "广和", "信诚", "安捷", "长青")


@dataclass
class DemoPlan:
    """What the demo loads; the units and agents are named by code and username until loading."""

    corporates: list[dict] = field(default_factory=list)
    individuals: list[dict] = field(default_factory=list)
    # (individual index, other individual index, relation): other is the relation of the first
    family: list[tuple[int, int, str]] = field(default_factory=list)
    # (individual index, corporate index): the company employs the person
    employment: list[tuple[int, int]] = field(default_factory=list)


def _date_between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _years_after(day: datetime.date, years: int) -> datetime.date:
    return _years_before(day, -years)


class _Maker:
    def __init__(self, seed: int, today: datetime.date):
        self.rng = random.Random(seed)
        self.today = today
        self.ids: set[str] = set()
        self.mobiles: set[str] = set()
        self._surnames = [s for s, _ in SURNAMES]
        self._surname_weights = [w for _, w in SURNAMES]

    # people ---------------------------------------------------------------------------------------
    def surname(self) -> str:
        return self.rng.choices(self._surnames, self._surname_weights)[0]

    def given_name(self, gender: str, birth: datetime.date) -> str:
        rng = self.rng
        if birth.year >= 2005 and rng.random() < 0.7:
            return rng.choice(YOUNG_MALE if gender == "M" else YOUNG_FEMALE)
        chars = MALE_CHARS if gender == "M" else FEMALE_CHARS
        return rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")

    def resident_id(self, birth: datetime.date, gender: str, region: str | None = None) -> str:
        while True:
            number = make_resident_id(birth, gender, region or self.rng.choice(BIRTH_REGIONS), rng=self.rng)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def mobile(self) -> str:
        while True:
            number = make_mobile(self.rng)
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def free_number(self, make) -> str:
        while True:
            number = make()
            if number not in self.ids:
                self.ids.add(number)
                return number

    def address(self, district: str) -> tuple[str, str]:
        province, city, name, postal, _area, streets = DISTRICTS[district]
        rng = self.rng
        street = rng.choice(streets)
        return (f"{province}{city}{name}{street}{rng.randrange(1, 400)}号"
                f"{rng.randrange(1, 30)}栋{rng.randrange(1, 33)}{rng.randrange(1, 9):02d}室", postal)

    def landline(self, district: str) -> str:
        return f"{DISTRICTS[district][4]}-{self.rng.randrange(2, 9)}{self.rng.randrange(10**7):07d}"

    def validity(self, birth: datetime.date, *, expired: bool) -> dict:
        """Return a resident ID's validity: 5, 10, 20 years or long-term by age at issue (身份证法 §5)."""
        rng, today = self.rng, self.today
        if expired:
            valid_to = today - datetime.timedelta(days=rng.randrange(15, 500))
            for term, (low, high) in ((20, (26, 46)), (10, (16, 26)), (5, (0, 16))):
                if low <= (_years_before(valid_to, term) - birth).days // 365 < high:
                    break
            else:
                term = 20
            return {"id_valid_from": _years_before(valid_to, term), "id_valid_to": valid_to}
        earliest = max(birth + datetime.timedelta(days=30), _years_before(today, 19))
        valid_from = _date_between(rng, earliest, today - datetime.timedelta(days=20))
        age = (valid_from - birth).days // 365
        if age >= 46:
            return {"id_valid_from": valid_from, "id_long_term": True}
        term = 5 if age < 16 else 10 if age < 26 else 20
        valid_to = _years_after(valid_from, term)
        if valid_to <= today:  # renewed since: issue the current card instead
            valid_from = _years_before(today, 1)
            valid_to = _years_after(valid_from, term)
        return {"id_valid_from": valid_from, "id_valid_to": valid_to}

    def identity(self, birth: datetime.date, gender: str, *, expired: bool) -> dict:
        """Return the identity document: mostly resident IDs, some legacy 15-digit, passports and permits."""
        rng = self.rng
        roll = rng.random()
        adult = (self.today - birth).days >= 18 * 365
        if roll < 0.05 and birth.year < 1985:
            number = self.resident_id(birth, gender)
            legacy = number[:6] + number[8:17]
            return {"id_type": "resident_id", "id_number": legacy, "notes": "证件号码由15位旧号码升级为18位",
                    **self.validity(birth, expired=expired)}
        last_month = self.today - datetime.timedelta(days=30)
        if roll < 0.10 and adult:
            number = self.free_number(lambda: f"E{rng.randrange(10**8):08d}")
            issued = _date_between(rng, _years_before(self.today, 9), last_month)
            return {"id_type": "passport", "id_number": number, "id_valid_from": issued,
                    "id_valid_to": _years_after(issued, 10)}
        if roll < 0.13 and adult:
            # H (Hong Kong) or M (Macao), 8 digits, then the 2-digit issue count
            number = self.free_number(lambda: f"{rng.choice('HM')}{rng.randrange(10**10):010d}")
            issued = _date_between(rng, _years_before(self.today, 9), last_month)
            return {"id_type": "hk_macao_permit", "id_number": number, "id_valid_from": issued,
                    "id_valid_to": _years_after(issued, 10)}
        if roll < 0.14 and adult:
            number = self.free_number(lambda: f"{rng.randrange(10**8):08d}")
            issued = _date_between(rng, _years_before(self.today, 4), last_month)
            return {"id_type": "taiwan_permit", "id_number": number, "id_valid_from": issued,
                    "id_valid_to": _years_after(issued, 5)}
        return {"id_type": "resident_id", "id_number": self.resident_id(birth, gender),
                **self.validity(birth, expired=expired)}

    def person(self, *, gender: str, birth: datetime.date, surname: str | None = None, expired: bool = False,
               district: str) -> dict:
        rng, today = self.rng, self.today
        age = (today - birth).days // 365
        doc = self.identity(birth, gender, expired=expired)
        name = (surname or self.surname()) + self.given_name(gender, birth)
        row = {"name": name, "gender": gender, "birth_date": birth, "nationality": "CHN", **doc}
        if doc["id_type"] == "hk_macao_permit":
            row["notes"] = "香港居民，常住深圳" if doc["id_number"][0] == "H" else "澳门居民"
        elif doc["id_type"] == "taiwan_permit":
            row["notes"] = "台湾居民"
        address, postal = self.address(district)
        row.update(residence_address=address, postal_code=postal)
        if rng.random() < 0.25:
            row["mailing_address"] = self.address(district)[0]
        if age >= 16:
            row["mobile"] = self.mobile()
        if age >= 18 and rng.random() < 0.3:
            row["email"] = f"{rng.randrange(10**7, 10**10)}@{rng.choice(('qq.com', '163.com', '126.com'))}"
        if rng.random() < 0.15:
            row["landline"] = self.landline(district)
        if age < 7:
            row.update(occupation="学龄前儿童", occupation_class=1, education="", marital_status="single")
        elif age < 22:
            row.update(occupation="学生", occupation_class=1, marital_status="single",
                       education="primary" if age < 13 else "secondary" if age < 16 else "high")
        elif age >= 62:
            row.update(occupation="退休人员", occupation_class=1,
                       annual_income=Decimal(rng.randrange(30_000, 120_000, 1000)),
                       education=rng.choice(("primary", "secondary", "high", "college", "bachelor")))
        else:
            occupation, klass, (low, high) = rng.choice(OCCUPATIONS)
            row.update(occupation=occupation, occupation_class=klass,
                       annual_income=Decimal(rng.randrange(low, high, 1000)),
                       education=rng.choice(("high", "college", "bachelor", "bachelor", "master", "doctor"))
                       if klass <= 2 else rng.choice(("secondary", "high", "college")),
                       employer=self.employer(district) if occupation != "个体工商户" else "")
        row["health_status"] = rng.choices(("good", "fair", "condition"), (80, 15, 5))[0]
        if row["health_status"] == "condition":
            row["health_notes"] = rng.choice(("高血压，服药控制", "2型糖尿病", "甲状腺结节随访中", "哮喘"))
        row["has_social_insurance"] = age >= 18 and row.get("occupation") not in ("个体工商户",)
        row["source_channel"] = rng.choices(CHANNELS, (35, 15, 20, 15, 10, 5))[0]
        row.update(self.aml(person=True))
        return row

    def employer(self, district: str) -> str:
        city = DISTRICTS[district][1]
        return f"{city}{self.rng.choice(BRANDS)}{self.rng.choice(EMPLOYER_WORDS)}有限公司"

    def aml(self, *, person: bool) -> dict:
        """Return AML data: mostly low risk, some medium, a few high (one a PEP); some reviews overdue."""
        rng, today = self.rng, self.today
        risk = rng.choices(("low", "medium", "high"), (84, 12, 4))[0]
        period = {"low": 36, "medium": 12, "high": 6}[risk]
        last = today - datetime.timedelta(days=rng.randrange(20, 30 * period + 120))
        row = {"aml_risk": risk, "aml_last_review": last,
               "aml_next_review": last + datetime.timedelta(days=30 * period)}
        if risk != "low":
            row["source_of_funds"] = rng.choice(FUNDS if person else ("经营收入", "股东投入", "银行贷款"))
        if risk == "high" and person and rng.random() < 0.4:
            row["pep"] = True
        return row

    # companies ------------------------------------------------------------------------------------
    def company(self, district: str) -> dict:
        rng, today = self.rng, self.today
        province, city, dname, postal, _area, _streets = DISTRICTS[district]
        roll = rng.random()
        if roll < 0.06:
            prefix, nature = "12", "public_institution"
            name = f"{city}{dname}{rng.choice(('社区卫生服务中心', '职业技能培训中心', '文化馆'))}"
            industry, code, scope = "卫生和社会工作", "Q84", "为辖区居民提供基本医疗和公共卫生服务"
            if "培训" in name:
                industry, code, scope = "教育", "P83", "职业技能培训"
            elif "文化" in name:
                industry, code, scope = "文化艺术业", "R88", "群众文化活动组织与辅导"
        elif roll < 0.10:
            prefix, nature = "52", "social"
            name = f"{city}{dname}{rng.choice(BRANDS)}养老服务中心"
            industry, code, scope = "社会工作", "Q85", "为老年人提供日间照料和居家养老服务"
        else:
            word, nature, industry, code, scope = rng.choice(INDUSTRIES)
            prefix = "91"
            name = f"{city}{rng.choice(BRANDS)}{word}{rng.choice(('有限公司', '有限公司', '股份有限公司'))}"
        uscc = self.free_number(lambda: make_uscc(rng=rng, prefix=prefix, division=district))
        rep_gender = rng.choice("MF")
        rep_birth = _date_between(rng, datetime.date(1958, 1, 1), datetime.date(1990, 12, 31))
        rep_name = self.surname() + self.given_name(rep_gender, rep_birth)
        rep_validity = self.validity(rep_birth, expired=rng.random() < 0.05)
        contact_gender = rng.choice("MF")
        contact_birth = _date_between(rng, datetime.date(1975, 1, 1), datetime.date(2000, 12, 31))
        headcount = rng.choice((8, 15, 30, 45, 80, 120, 260, 500, 1200, 3000))
        address, _ = self.address(district)
        row = {
            "name": name, "uscc": uscc, "nature": nature, "industry": industry, "industry_code": code,
            "registered_capital": Decimal(rng.choice((50, 100, 200, 500, 1000, 3000, 5000, 10000, 50000))),
            "business_scope": scope, "registered_address": address,
            "operating_address": address if rng.random() < 0.7 else self.address(district)[0],
            "postal_code": postal, "landline": self.landline(district),
            "licence_valid_to": _years_after(today, rng.randrange(5, 30)),
            "legal_rep_name": rep_name, "legal_rep_id_type": "resident_id",
            "legal_rep_id_number": self.resident_id(rep_birth, rep_gender),
            "legal_rep_id_valid_to": rep_validity.get("id_valid_to"),
            "contact_name": self.surname() + self.given_name(contact_gender, contact_birth),
            "contact_id_type": "resident_id",
            "contact_id_number": self.resident_id(contact_birth, contact_gender),
            "contact_mobile": self.mobile(),
            "headcount": headcount, "insured_headcount": int(headcount * rng.uniform(0.6, 1.0)),
            "income_per_head": Decimal(rng.randrange(60_000, 300_000, 1000)),
            "turnover_rate": Decimal(rng.randrange(200, 3500)) / 100,
            "source_channel": rng.choice(("direct", "intermediary", "cross_sell", "referral")),
        }
        if rng.random() < 0.3:
            row["email"] = f"hr{rng.randrange(100, 999)}@{rng.choice(('qq.com', '163.com', 'sina.com'))}"
        if prefix == "91" and rng.random() < 0.75:
            bank = rng.choice(BANKS)
            row.update(is_general_taxpayer=True, tax_number=uscc,
                       tax_bank=f"{bank}{city[:-1]}{dname[:-1]}支行",
                       tax_account="".join(str(rng.randrange(10)) for _ in range(19)),
                       tax_address_phone=f"{address} {row['landline']}")
        owners = self.beneficial_owners(prefix, rep_name, rep_gender, rep_birth, row["legal_rep_id_number"],
                                        district)
        row["beneficial_owners"] = owners
        row["controlling_shareholder"] = owners[0]["name"] if prefix == "91" else "（无，由负责人实际控制）"
        row["other_policies"] = [self.other_policy(headcount) for _ in range(rng.choice((0, 0, 1, 1, 2)))]
        row.update(self.aml(person=False))
        return row

    def beneficial_owners(self, prefix, rep_name, rep_gender, rep_birth, rep_id, district) -> list[dict]:
        """Return owners under PBOC/SAMR 2024 No.3: ≥25% equity, else the person in charge (manager)."""
        rng, today = self.rng, self.today
        since = _date_between(rng, _years_before(today, 15), _years_before(today, 1))
        rep = {"name": rep_name, "gender": rep_gender, "birth_date": rep_birth, "nationality": "CHN",
               "id_type": "resident_id", "id_number": rep_id, "address": self.address(district)[0],
               "phone": self.mobile(), "since": since}
        if prefix != "91":
            return [{**rep, "ownership_kind": "manager", "control_description": "单位负责人，主持日常经营"}]
        shares = rng.choice(((100,), (60, 40), (51, 49), (35, 30, 25), (70,), (45, 30)))
        owners = [{**rep, "ownership_kind": "equity", "percentage": Decimal(shares[0])}]
        for share in shares[1:]:
            gender = rng.choice("MF")
            birth = _date_between(rng, datetime.date(1960, 1, 1), datetime.date(1992, 12, 31))
            owners.append({"name": self.surname() + self.given_name(gender, birth), "gender": gender,
                           "birth_date": birth, "nationality": "CHN", "id_type": "resident_id",
                           "id_number": self.resident_id(birth, gender), "address": self.address(district)[0],
                           "phone": self.mobile(), "ownership_kind": "equity", "percentage": Decimal(share),
                           "since": since})
        return owners

    def other_policy(self, headcount: int) -> dict:
        rng = self.rng
        effective = _date_between(rng, _years_before(self.today, 3), self.today)
        premium = Decimal(headcount * rng.randrange(150, 1500))
        return {"insurer": rng.choice(INSURERS), "policy_no": f"P{rng.randrange(10**15, 10**16)}",
                "line": rng.choice(GROUP_LINES), "effective_date": effective,
                "sum_insured": Decimal(headcount * rng.choice((100_000, 200_000, 500_000))),
                "premium": premium,
                "claims_paid": (premium * Decimal(rng.randrange(0, 90)) / 100).quantize(Decimal("0.01"))}


def reference_date() -> datetime.date:
    return min(REFERENCE_DATE, timezone.localdate())


def build_plan(customers: int = DEFAULT_CUSTOMERS, seed: int = SEED,
               today: datetime.date | None = None) -> DemoPlan:
    """Draw the demo archives: households of individuals (spouses, children) and companies."""
    maker = _Maker(seed, today or reference_date())
    rng, today = maker.rng, maker.today
    n_corporate = max(1, round(customers / 6)) if customers > 1 else 0
    n_individual = customers - n_corporate
    units, weights = list(UNIT_WEIGHTS), list(UNIT_WEIGHTS.values())
    districts = {code: district for code, _name, _parent, district in ORG_TREE}
    plan = DemoPlan()
    # The demo agent owns about 40 archives of 360 (scaled), the second agent about 25.
    quota = {"agent": round(customers * 40 / DEFAULT_CUSTOMERS),
             "agent2": round(customers * 25 / DEFAULT_CUSTOMERS)}
    agent_units = {"agent": "SZNS", "agent2": "SZFT"}

    def owner_for(unit: str) -> str | None:
        for username, home in agent_units.items():
            if unit == home and quota[username] > 0 and rng.random() < 0.85:
                return username
        return None

    for _ in range(n_corporate):
        unit = rng.choices(units, weights)[0]
        row = maker.company(districts[unit])
        row["unit"] = unit
        agent = owner_for(unit) if rng.random() < 0.3 else None
        if agent:
            quota[agent] -= 1
        row["agent"] = agent
        plan.corporates.append(row)

    expired_left = max(3, customers // 60)
    while len(plan.individuals) < n_individual:
        unit = rng.choices(units, weights)[0]
        district = districts[unit]
        agent = owner_for(unit)
        household = _household(maker, district, expire=expired_left > 0 and rng.random() < 0.1)
        if any(_is_expired(p, today) for p in household["people"]):
            expired_left -= 1
        room = n_individual - len(plan.individuals)
        people = household["people"][:room]
        base = len(plan.individuals)
        for person in people:
            person["unit"] = unit
            person["agent"] = agent
            if agent:
                quota[agent] -= 1
            plan.individuals.append(person)
        for a, b, relation in household["links"]:
            if a < len(people) and b < len(people):
                plan.family.append((base + a, base + b, relation))
    for i, person in enumerate(plan.individuals):
        if plan.corporates and person.get("employer") and rng.random() < 0.12:
            j = rng.randrange(len(plan.corporates))
            person["employer"] = plan.corporates[j]["name"]
            plan.employment.append((i, j))
    return plan


def _is_expired(person: dict, today: datetime.date) -> bool:
    return bool(person.get("id_valid_to") and person["id_valid_to"] < today)


def _household(maker: _Maker, district: str, *, expire: bool) -> dict:
    """Return one household: a single adult, or a couple with up to two children, sharing an address."""
    rng, today = maker.rng, maker.today
    head_gender = rng.choice("MF")
    head_birth = _date_between(rng, _years_before(today, 80), _years_before(today, 22))
    head = maker.person(gender=head_gender, birth=head_birth, district=district, expired=expire)
    head_age = (today - head_birth).days // 365
    people, links = [head], []
    if head_age >= 25 and rng.random() < 0.55:
        spouse_gender = "F" if head_gender == "M" else "M"
        spouse_birth = _date_between(rng, max(_years_before(head_birth, 5), _years_before(today, 80)),
                                     min(_years_after(head_birth, 5), _years_before(today, 22)))
        spouse = maker.person(gender=spouse_gender, birth=spouse_birth, district=district)
        _share_home(spouse, head)
        head["marital_status"] = spouse["marital_status"] = "married"
        people.append(spouse)
        links.append((0, 1, "spouse"))
        father = head if head_gender == "M" else spouse
        mother_birth = spouse_birth if head_gender == "M" else head_birth
        youngest_parent = max(head_birth, spouse_birth)
        for _ in range(rng.choice((0, 1, 1, 2))):
            start = max(_years_after(youngest_parent, 22), _years_before(today, 30))
            if start >= today - datetime.timedelta(days=60) or _years_after(mother_birth, 45) < start:
                break
            end = min(today - datetime.timedelta(days=60), _years_after(mother_birth, 45))
            child_birth = _date_between(rng, start, end)
            child_gender = rng.choice("MF")
            child = maker.person(gender=child_gender, birth=child_birth, district=district,
                                 surname=_surname_of(father["name"]))
            if (today - child_birth).days < 22 * 365:
                _share_home(child, head)
                child.pop("annual_income", None)
            people.append(child)
            links.append((0, len(people) - 1, "child"))
            links.append((1, len(people) - 1, "child"))
    else:
        head.setdefault("marital_status", rng.choices(("single", "divorced", "widowed"), (70, 20, 10))[0]
                        if head_age < 60 else rng.choice(("divorced", "widowed", "married")))
    for person in people:
        person.setdefault("marital_status", "single" if (today - person["birth_date"]).days < 24 * 365
                          else rng.choices(("married", "single", "divorced"), (70, 20, 10))[0])
    return {"people": people, "links": links}


def _share_home(person: dict, head: dict) -> None:
    person["residence_address"], person["postal_code"] = head["residence_address"], head["postal_code"]


def _surname_of(name: str) -> str:
    return name[:2] if name[:2] in {s for s, _ in SURNAMES if len(s) == 2} else name[:1]


# loading -------------------------------------------------------------------------------------------------


class DemoConflict(Exception):
    """The database holds data that is not the demo's; the demo only loads into an empty archive."""


@dataclass
class DemoLoaded:
    individuals: int
    corporates: int
    relations: int


def demo_loaded() -> bool:
    """Tell whether every demo login exists (the demo was loaded before)."""
    names = [u[0] for u in DEMO_USERS]
    return User.objects.filter(username__in=names).count() == len(names)


def demo_logins() -> list[dict]:
    """Return the demo logins as rows: username, role label, unit name."""
    names = [d[0] for d in DEMO_USERS]
    users = {u.username: u for u in User.objects.select_related("unit").filter(username__in=names)}
    return [{"username": name, "role": Role(users[name].role).label,
             "unit": users[name].unit.name if users[name].unit else "", "name": users[name].get_full_name()}
            for name in names if name in users]


def password_works(password: str) -> bool:
    user = User.objects.filter(username=DEMO_USERS[0][0]).first()
    return user is not None and user.check_password(password)


@transaction.atomic
def load_demo(*, password: str = DEFAULT_PASSWORD, customers: int = DEFAULT_CUSTOMERS, seed: int = SEED,
              progress=None) -> DemoLoaded:
    """Load the org tree, the demo logins and the archives; all or nothing."""
    clash = [u[0] for u in DEMO_USERS if User.objects.filter(username=u[0]).exists()]
    if clash or OrgUnit.objects.exists() or Customer.objects.exists():
        raise DemoConflict("数据库中已有机构、用户或客户档案，演示数据只装入空库。"
                           "请换一个数据目录（INSURDESK_DATA_DIR）或数据库（DATABASE_URL）后再运行。")
    units = {}
    for code, name, parent, _district in ORG_TREE:
        units[code] = unit_create(actor=None, code=code, name=name, parent_code=parent)
    users = {}
    for username, role, unit, full_name in DEMO_USERS:
        users[username] = user_create(actor=None, username=username, role=role, unit_code=unit,
                                      password=password, full_name=full_name)
    actor = users["admin"]
    plan = build_plan(customers, seed)

    def assign(rows):
        out = []
        for row in rows:
            row = dict(row)
            row["unit_id"] = units[row.pop("unit")].pk
            agent = row.pop("agent")
            if agent:
                row["agent_id"] = users[agent].pk
            out.append(row)
        return out

    corporate = customer_bulk_create(actor=actor, kind="corporate", rows=assign(plan.corporates),
                                     progress=progress)
    individual = customer_bulk_create(actor=actor, kind="individual", rows=assign(plan.individuals),
                                      progress=progress)
    refused = corporate.refused + individual.refused
    if refused:
        first = refused[0]
        raise RuntimeError(f"demo data refused by validation ({len(refused)} errors), first: row "
                           f"{first.index} {first.field} {first.code} {first.message}")
    links = 0
    for a, b, relation in plan.family:
        relation_add(actor=actor, customer_id=individual.ids_by_index[a], other_id=individual.ids_by_index[b],
                     relation=relation)
        links += 1
    for person, company in plan.employment:
        relation_add(actor=actor, customer_id=individual.ids_by_index[person],
                     other_id=corporate.ids_by_index[company], relation="employer")
        links += 1
    # New business (issue 3): the product catalogue and applications at each step of double entry.
    from insurdesk.applications.demo import load_demo_new_business

    load_demo_new_business(users=users)
    # Underwriting, policies and premiums (issue 3): issued policies in every state, with payments.
    from insurdesk.policies.demo import load_demo_policies

    load_demo_policies(users=users)
    return DemoLoaded(individual.created, corporate.created, links)
