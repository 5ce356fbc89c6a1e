"""Consistency: the invariants that prove nothing was lost or half-written, and the sweep that
removes what abandoned requests left behind (DESIGN principles 1 and 10).

- :mod:`~beamit.consistency.scan`: ``beamit check`` and the reliability suite's oracle;
- :mod:`~beamit.consistency.sweep`: the scheduled ``consistency-sweep`` function.
"""
