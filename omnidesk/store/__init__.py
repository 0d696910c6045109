"""The thread store: schema, engine, migrations and the queries that need SQL."""
