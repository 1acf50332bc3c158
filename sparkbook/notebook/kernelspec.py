"""``sparkbook kernel install``: the "Sparkbook (Python 3)" kernel, which preloads the
%spark magics, installed for this interpreter."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernel"
NAME = "sparkbook"


def install(user: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec; returns where it went."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = json.loads((KERNEL_DIR / "kernel.json").read_text())
    spec["argv"][0] = sys.executable  # the kernel runs this very interpreter
    with tempfile.TemporaryDirectory() as tmp:
        for logo in KERNEL_DIR.glob("logo-*"):
            shutil.copy(logo, tmp)
        (Path(tmp) / "kernel.json").write_text(json.dumps(spec, indent=2))
        return KernelSpecManager().install_kernel_spec(tmp, NAME, user=user, prefix=prefix)
