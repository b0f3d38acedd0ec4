"""Training: the paper's three stages, crash-safe checkpoints, torchrun scale-out."""
