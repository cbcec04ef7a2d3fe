"""One training engine: seeding, device, precision, checkpoints, logging, distributed."""
