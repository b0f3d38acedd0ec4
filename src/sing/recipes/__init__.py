"""Pipelines that chain the stages (data -> training -> evaluation): the demo, Table 1."""
