"""Runs one migration through its phases with a backend, applies the policy, records history."""
