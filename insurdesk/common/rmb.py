"""Amounts as Chinese finance writes them: 12,000.00 in figures and 人民币壹万贰仟元整 in capitals (大写).

The capitals follow the bank convention (《支付结算办法》 / 正确填写票据和结算凭证的基本规定): 元 after the
integer part, 角 and 分 for the decimals, 整 when there are no 分; a run of zeros inside the number
is read as one 零; 零 is written between 元 and 分 when 角 is zero ("壹元零伍分").
"""

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
SMALL_UNITS = ("", "拾", "佰", "仟")
BIG_UNITS = ("", "万", "亿")
MAX = Decimal("999999999999.99")  # below 万亿: no amount of this trade comes near it
CENT = Decimal("0.01")


def _four(n: int) -> str:
    """Return 0 < n < 10000 in capitals, zeros inside read once ("壹仟零伍")."""
    out, zero = [], False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + SMALL_UNITS[pos])
    return "".join(out)


def _integer(n: int) -> str:
    if n == 0:
        return ""
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out, need_zero = [], False
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            need_zero = bool(out)
            continue
        if out and (need_zero or g < 1000):
            out.append("零")
        out.append(_four(g) + BIG_UNITS[i])
        need_zero = False
    return "".join(out)


def amount_in_capitals(amount, *, prefix: str = "人民币") -> str:
    """Return an amount of yuan in capitals: 12000 -> 人民币壹万贰仟元整, 0.5 -> 人民币伍角整."""
    value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    if value < 0:
        return prefix + "负" + amount_in_capitals(-value, prefix="")
    if value > MAX:
        raise ValueError("amount too large for capitals")
    cents = int(value * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return prefix + "零元整"
    text = _integer(yuan)
    if yuan:
        text += "元"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan and fen:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return prefix + text


def figures(amount, places: int = 2) -> str:
    """Return an amount with thousands separators and two decimals: 500000 -> 500,000.00."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except ArithmeticError:
        return str(amount)
    return f"{value:,.{places}f}"
