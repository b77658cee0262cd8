"""The union index: clusters of member records, and search over them."""
