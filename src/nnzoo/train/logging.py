"""metrics.jsonl, TensorBoard events and the progress bar. Only the main process writes."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


class MetricLogger:
    """One JSON object per logged value: step, epoch, split, name, value, time (s since the run started)."""

    def __init__(self, run_dir: Path | None, tensorboard: bool = True, elapsed: float = 0.0):
        self.start = time.time() - elapsed
        self.file = None
        self.tb = None
        if run_dir is None:
            return
        self.file = open(Path(run_dir) / "metrics.jsonl", "a", buffering=1)
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
                self.tb = SummaryWriter(str(Path(run_dir) / "tb"))
            except ImportError:  # tensorboard is a dependency, but a trimmed install must still train
                self.tb = None

    def elapsed(self) -> float:
        return time.time() - self.start

    def log(self, step: int, epoch: float, split: str, name: str, value: float) -> None:
        if self.file is None:
            return
        rec = {"step": step, "epoch": round(epoch, 4), "split": split, "name": name, "value": float(value),
               "time": round(self.elapsed(), 3)}
        self.file.write(json.dumps(rec) + "\n")
        if self.tb is not None:
            self.tb.add_scalar(f"{split}/{name}", float(value), step)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tb is not None:
            self.tb.close()


def progress_enabled() -> bool:
    return os.environ.get("NNZOO_PROGRESS", "1") != "0"


def progress(total: int, initial: int = 0, desc: str = "", unit: str = "step", enabled: bool = True):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr,
                disable=not (enabled and progress_enabled()), smoothing=0.1, mininterval=0.5)


def read_metrics(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a crash
            continue
    return out
