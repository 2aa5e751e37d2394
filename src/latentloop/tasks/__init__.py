"""Puzzle tasks: pure puzzle logic (parsing, solving, generation, encoding), no torch."""
