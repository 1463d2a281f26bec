"""Data access objects: each takes a session, none commits, all return ``storage.dto`` dataclasses."""
