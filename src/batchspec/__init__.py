"""batchspec: declarative YAML job specs for Azure Batch."""

__version__ = "0.1.0"
