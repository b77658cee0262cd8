"""Async I/O adapters, one per endpoint type, each behind one fetch/send seam."""
