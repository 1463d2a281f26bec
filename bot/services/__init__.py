"""Business rules. Services take repositories (through the unit of work) and never commit."""
