"""Probes run on the hosts through their SSH sessions. Each returns a Probed result: known, or unknown with why."""
