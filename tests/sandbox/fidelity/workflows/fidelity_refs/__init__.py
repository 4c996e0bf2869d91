"""References to entities of ``fidelity_flows`` (registered first, at the suite's fixed version)."""
