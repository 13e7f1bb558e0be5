"""Community governance health index engine: catalog, scoring, alerts, store and command line."""
