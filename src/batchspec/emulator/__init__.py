"""A local Azure Batch service: the data-plane REST API subset that azure-batch 15.x drives.

`batchspec emulator` serves it (server.py). Three layers, each importing only the ones below:
`api/` parses requests and writes answers, `service/` holds Batch's rules and state, `engine/`
runs nodes and tasks. See docs/emulator.md for what it implements and what a task sees.
"""
