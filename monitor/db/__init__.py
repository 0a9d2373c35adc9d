"""State: SQLAlchemy 2 tables, engine/session handling and Alembic migrations."""
