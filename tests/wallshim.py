"""Move the wall clock of a running process, and only the wall clock (see wallshim.c).

    shim = WallShim.build(tmp_path)           # compiles wallshim.c with the C compiler
    proc = subprocess.Popen(argv, env={**env, **shim.env()})
    shim.jump(610)                            # the process's time.time() is 610 s later now

``jump`` adds to the offset; ``set_offset`` sets it. The monotonic clock does not move: to
the process this looks like a suspend (forward) or a clock change (either way).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).with_name("wallshim.c")


class WallShimError(AssertionError):
    """The shim could not be built."""


class WallShim:
    def __init__(self, library: Path, offset_file: Path) -> None:
        self.library = library
        self.offset_file = offset_file
        self.offset = 0.0
        self.set_offset(0.0)

    @classmethod
    def build(cls, directory: Path) -> WallShim:
        """Compile the shim into ``directory`` (a C compiler and libc headers are needed)."""
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise WallShimError(
                "no C compiler (cc) to build the wall-clock shim; install gcc and libc6-dev "
                "(scripts/setup --test)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        library = directory / "wallshim.so"
        result = subprocess.run(
            [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(SOURCE), "-ldl"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise WallShimError(f"building the wall-clock shim failed:\n{result.stderr}")
        return cls(library, directory / "wall-offset")

    def env(self) -> dict[str, str]:
        """The variables that put a process (and its children) under the shim."""
        return {"LD_PRELOAD": str(self.library), "WALLSHIM_OFFSET_FILE": str(self.offset_file)}

    def set_offset(self, seconds: float) -> None:
        """Shifted wall time = real wall time + ``seconds``, from the next clock read on."""
        self.offset = float(seconds)
        tmp = self.offset_file.with_suffix(".tmp")
        tmp.write_text(f"{self.offset:.6f}\n")
        tmp.replace(self.offset_file)  # atomic: a reader never sees half a number

    def jump(self, seconds: float) -> None:
        """Move the wall clock by ``seconds`` (negative: back)."""
        self.set_offset(self.offset + seconds)
