"""The store: one async SQLAlchemy engine over SQLite (embedded) or PostgreSQL (scale-out)."""

from gateway.store.engine import Store, async_url, open_store

__all__ = ["Store", "async_url", "open_store"]
