"""``python -m sing`` runs the command line."""

from sing.cli import console

if __name__ == "__main__":
    raise SystemExit(console())
