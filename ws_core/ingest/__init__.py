"""Readers and validators for the With Sense input files: rows in, (good rows, rejects) out."""
