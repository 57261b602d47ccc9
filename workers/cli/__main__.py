"""`python -m workers.cli`: the same command line as `halton-workers`."""

from workers.cli import main

main()
