"""ISIL (ISO 15511) checks for member codes, on top of python-stdnum.

stdnum.isil knows the allocation agencies of the ISIL registration authority's list; that list
lacks some national agencies (Sweden's, for one: ``SE-UMU`` is a real ISIL that stdnum calls
invalid). So a two-letter prefix that is an ISO 3166-1 country code is accepted too.
"""

from __future__ import annotations

from stdnum import isil as _isil
from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength

# ISO 3166-1 alpha-2 (officially assigned codes).
ISO_3166_ALPHA2 = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())


def isil_problem(code: str) -> str | None:
    """None for an acceptable ISIL, else what is wrong with it (for the error message)."""
    try:
        _isil.validate(code)
        return None
    except InvalidFormat:
        return "it has characters an ISIL cannot have (letters, digits, '-', ':', '/')"
    except InvalidLength:
        return "it is longer than 15 characters"
    except InvalidComponent:
        prefix = code.split("-", 1)[0]
        if len(prefix) == 2 and prefix.upper() in ISO_3166_ALPHA2:
            return None
        return f"its prefix {prefix!r} is neither an ISO 3166 country nor a known ISIL agency"
