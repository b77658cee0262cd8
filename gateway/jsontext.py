"""How LibGate writes JSON text: orjson, keys that are not strings made strings (as ``json``).

One function every JSON column goes through (``store.engine``) and that worker processes use
to make the text ahead (a harvest page, a rebuild's merged records); it imports no database
library, so a spawned worker that only needs this starts without SQLAlchemy.
"""

from __future__ import annotations

from typing import Any

import orjson


def dumps_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
