"""Choosing the device and the autocast precision."""
from __future__ import annotations

import contextlib
import os
import warnings
from functools import lru_cache

import torch

from ..errors import UserError


def pick_device(name: str = "auto") -> torch.device:
    """auto: cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for but no CUDA GPU is visible; use device=auto or cpu")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError("device 'mps' asked for but MPS is not available here; use device=auto or cpu")
    return dev


BF16_ENV = "NNZOO_CPU_BF16"


@lru_cache(maxsize=None)
def cpu_has_bf16() -> bool:
    """bf16 autocast pays on CPUs with bf16 units (AVX512-BF16 or AMX); elsewhere it is emulated and slower.
    $NNZOO_CPU_BF16=0 (or 1) makes `precision=auto` act as on a CPU without (with) them: how the tests run
    this machine both ways."""
    forced = os.environ.get(BF16_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32. Falls back to fp32 with a warning where the hardware
    cannot do the requested precision quickly."""
    if name not in ("auto", "fp32", "bf16", "fp16"):
        raise UserError(f"unknown precision {name!r}; use auto, fp32, bf16 or fp16")
    if name == "fp32":
        return None
    if device.type == "cuda":
        if name == "fp16":
            return torch.float16
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16
        if name == "bf16":
            warnings.warn("this GPU has no bf16 support; using fp16 autocast", stacklevel=2)
        return torch.float16
    if device.type == "cpu":
        if name == "fp16":
            warnings.warn("fp16 autocast is not supported for training on CPU; using fp32", stacklevel=2)
            return None
        if cpu_has_bf16():
            return torch.bfloat16
        if name == "bf16":
            warnings.warn("this CPU has no bf16 units (no AVX512-BF16 / AMX): bf16 would be emulated and far "
                          "slower; using fp32", stacklevel=2)
        return None
    return None  # mps: fp32


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
