"""Batch's rules: validation, the lifecycle of every resource, the error catalogue, the store."""
