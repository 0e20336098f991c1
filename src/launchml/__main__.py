"""``python -m launchml ...``: the same as the ``launchml`` command (what torchrun starts:
``torchrun --nproc-per-node 2 -m launchml train CONFIG``)."""

from launchml.cli import main

if __name__ == "__main__":
    main()
