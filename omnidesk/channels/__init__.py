"""Channel adapters: one per channel behind one Protocol."""
