"""Image providers behind one interface, tried in the configured order; the mock is always last."""
