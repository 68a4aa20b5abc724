"""realtime's migrations plus two more (a nullable column, then an index built concurrently), for the
tests of migrate_schemas against the template (MIGRATION_MODULES points realtime here)."""
