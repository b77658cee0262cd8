"""The ILL broker: rotas from the union index, ISO 18626 transactions between members."""
