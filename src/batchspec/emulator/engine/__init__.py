"""What runs: the scheduler, node processes and StartTasks, blob transfers, recovery."""
