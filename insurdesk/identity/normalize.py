"""Turn typed or pasted codes into their plain ASCII form."""

# Full-width forms U+FF01–FF5E sit exactly 0xFEE0 above ASCII; U+3000 is the ideographic space.
_HALFWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALFWIDTH[0x3000] = 0x20

# Every character str.isspace() accepts, plus the zero-width ones that arrive with text pasted from
# office documents and web pages (they are invisible to the clerk yet break a number).
WHITESPACE = (
    "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
    "\u200b\u200c\u200d\u2060\ufeff"
)
# ASCII hyphen-minus plus the typographic dashes word processors substitute for it.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"

_CLEAN = dict(_HALFWIDTH)
_CLEAN.update(dict.fromkeys(map(ord, WHITESPACE + DASHES)))


def to_halfwidth(s: str) -> str:
    """Return s with full-width ASCII forms and the ideographic space turned into ASCII."""
    return s.translate(_HALFWIDTH)


def clean_code(s: str) -> str:
    """Return s half-width, upper-case, without any whitespace or dash."""
    return s.translate(_CLEAN).upper()
