"""``python -m tipline`` is the ``tipline`` command."""

from tipline.cli import main

main()
