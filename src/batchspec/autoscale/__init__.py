"""Batch's autoscale formula language, shared by `validate` (syntax) and the local service
(evaluation): see `formula`."""
