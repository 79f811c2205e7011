"""apply: the Plan driven through the azure-batch and azure-storage-blob SDKs."""
