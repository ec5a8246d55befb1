"""``python -m mlsd_grader``: the same command as ``mlsd-grader``."""

from .cli import main

main()
