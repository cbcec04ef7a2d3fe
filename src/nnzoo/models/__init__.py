"""One file per model family: a Config dataclass, the nn.Module, its loss, and tiny() for tests."""
