"""SING: Symbol-to-Instrument Neural Generator (Défossez et al., NeurIPS 2018) for current PyTorch.

The library API lives in :mod:`sing.api`; the command line in :mod:`sing.cli`.
"""

__version__ = "0.1.0"
