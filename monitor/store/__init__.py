"""Repository functions over SQLAlchemy sessions: the only place that writes SQL.

Every function takes a :class:`~sqlalchemy.orm.Session` and leaves committing to the caller
(``monitor.db.engine.session_scope``), so a stage's writes land in one transaction.
"""
