"""Helpers shared by the rest of the package: evaluation measures and device selection."""
