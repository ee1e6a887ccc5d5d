"""Evaluation: agreement metrics and subject-wise cross-validation."""
