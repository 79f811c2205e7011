"""The engine of the local Batch service: what runs tasks on this machine."""
