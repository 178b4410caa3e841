"""Batch jobs: orchestration only. Each reads from the database, calls ws_core, writes back in one
transaction and records a job_runs row."""
