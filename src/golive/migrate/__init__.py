"""Database migrations run by a rollout: files, lint, backups, PostgreSQL and SQLite."""
