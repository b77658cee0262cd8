"""Structured logs: every line carries the member and run it concerns (contextvars)."""

from __future__ import annotations

import contextvars
import logging
import sys

current_member: contextvars.ContextVar[str] = contextvars.ContextVar("member", default="-")
current_run: contextvars.ContextVar[str] = contextvars.ContextVar("run", default="-")

FORMAT = "%(asctime)s %(levelname)s %(name)s member=%(member)s run=%(run)s %(message)s"


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.member = current_member.get()
        record.run = current_run.get()
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_libgate", False)]:
        root.removeHandler(old)
    handler._libgate = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # migrations run on every start; their chatter is not news
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
