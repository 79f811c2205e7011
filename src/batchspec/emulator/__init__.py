"""A local Azure Batch service: the data-plane REST API subset that azure-batch 15.x drives.

`batchspec emulator` serves it; see docs/emulator.md for what it implements and what a task sees.
"""
