"""Declarative pipelines: schema validation of pipeline files and the runners they start."""
