"""``python -m sing.midi.pieces [OUT]``: write the bundled canon (default: beside the code)."""

from __future__ import annotations

import sys
from pathlib import Path

from sing.midi.pieces import CANON, write_canon

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else CANON
    print(write_canon(out))
