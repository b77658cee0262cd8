"""Errors of the I/O layer (the network or the file system answered badly)."""


class ConnectorError(Exception):
    """A source could not be read; the message names it (with secrets redacted)."""
