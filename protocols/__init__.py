"""Pure codecs and rules: bytes in, typed objects out.

Nothing in this package performs I/O or imports asyncio/aiohttp; every module is testable
without an event loop (h11 is the model).
"""
