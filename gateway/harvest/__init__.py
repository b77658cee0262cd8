"""Harvesting member catalogues: OAI-PMH and SRU, incremental, resumable, many at once."""
