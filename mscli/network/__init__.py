"""Streams beyond one machine: network sources (probe.py) and outputs."""
