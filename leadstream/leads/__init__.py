"""The leads API on the edge (site key auth) and the warehouse reads behind it."""
