"""`python -m gateway.cli` — the same as the `libgate` console script."""

from gateway.cli import main

main()
