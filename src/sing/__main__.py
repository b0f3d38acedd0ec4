"""``python -m sing`` runs the command line."""

from sing.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
