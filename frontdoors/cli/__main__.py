"""``python -m frontdoors.cli``: the modelwatch command without its console script."""

from frontdoors.cli import main

main()
