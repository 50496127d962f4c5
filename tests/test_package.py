"""The package's top level: light to import, and its public names all there."""

from __future__ import annotations

import subprocess
import sys


def test_importing_oncoclass_loads_no_heavy_library() -> None:
    heavy = "('sklearn', 'lightgbm', 'pandas')"
    code = f"import sys, oncoclass; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    import oncoclass

    for name in oncoclass.__all__:
        assert getattr(oncoclass, name) is not None, name
