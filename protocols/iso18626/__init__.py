"""ISO 18626 (ILL transactions), schema versions 1.2 and 2021-2: pure codec and state tables.

    codes.py    closed code lists as enums, open lists as CodedValue, versions, message kinds
    model.py    typed dataclasses for the six messages and their parts
    layout.py   element order and cardinality of both XSDs, as tables
    codec.py    decode(bytes) -> message | Iso18626Error; encode(message, version) -> bytes
    confirm.py  confirm(message or error) -> the confirmation in the peer's version
    states.py   requester/supplier transition tables and Transaction.apply
"""
