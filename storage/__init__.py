"""Persistence: SQLAlchemy models, repositories returning plain dataclasses, the unit of work, migrations.

Nothing here imports from ``bot``.
"""
