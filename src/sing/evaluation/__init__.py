"""Evaluation: the paper's metrics, pitch accuracy, references, Table 1, the report, the demo."""
