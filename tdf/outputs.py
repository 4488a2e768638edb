"""Who owns an output folder, and how one is written, replaced and locked (docs/outputs.md).

Every command that writes a folder — train (`run`), fix (`fix`), diagnose (`diagnosis`), loop
(`loop`), evaluate (`evaluation`) — writes it through `OutputFolder`:

- the folder is made by tdf and carries a marker, `.tdf-output.json`, naming its kind and the
  tdf version that made it;
- an existing folder is replaced only with `--force`, and only when it is a tdf output of the
  same kind; a folder holding anything else (a user's files, another kind of output, the run a
  diagnosis reads) is refused with exit 2 and left untouched, `--force` or not;
- a replacement is built in a hidden staging folder beside the old output and swapped in only
  when complete, so a failed or killed replacement leaves the old output as it was;
- an exclusive lock file beside the output (`.NAME.tdf-lock`, `flock`) makes a second writer
  of the same output fail at once.

Folders written by older tdf carry no marker; they are recognised by their own files (a run
by `run.json`, a diagnosis by `diagnosis.json`, …, see `recognise`), so they stay readable
inputs and can be replaced with `--force` like marked ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Iterable, Iterator

from tdf import __version__
from tdf.atomic import file_mode, temp_dir_in, write_json
from tdf.errors import BadInput
from tdf.signals import raise_if_pending

MARKER = ".tdf-output.json"
KINDS = ("run", "fix", "diagnosis", "loop", "evaluation", "fusion")
_STAGING = ".tdf-new-"     # .NAME.tdf-new-XXXX: a replacement being built
_OLD = ".tdf-old-"         # .NAME.tdf-old-XXXX: the old output during a two-step swap
_LOCK = ".tdf-lock"        # .NAME.tdf-lock: held (flock) by the one writer of NAME

# Files an evaluation folder written by an older tdf holds (it had no marker).
_EVALUATION_FILES = re.compile(r"^(metrics(-\w+)?\.json|predictions(-\w+)?\.npz|confusion(-\w+)?\.png)$")

# staging folder → the output it will become; lets outputs record their final paths.
_STAGED: dict[Path, Path] = {}
# output folders this process is writing in place (a loop's stages go inside its own folder).
_OWNED: set[Path] = set()


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of a tdf output folder, or None (absent or unreadable)."""
    try:
        m = json.loads((Path(folder) / MARKER).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return m if isinstance(m, dict) and m.get("kind") in KINDS else None


def _json_dict(path: Path) -> dict | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return d if isinstance(d, dict) else None


def recognise(folder: str | os.PathLike) -> str | None:
    """The kind of tdf output `folder` holds: from its marker, else (written by an older tdf)
    from its own files; None when it is not a tdf output."""
    folder = Path(folder)
    m = read_marker(folder)
    if m is not None:
        return m["kind"]
    run = _json_dict(folder / "run.json")
    if run is not None and isinstance(run.get("config"), dict):
        return "fix" if run.get("kind") == "ms_res_tcn" else "run"
    diag = _json_dict(folder / "diagnosis.json")
    if diag is not None and "schema" in diag and "groups" in diag:
        return "diagnosis"
    if (folder / "loop.json").is_file() or (folder / "baseline" / "run.json").is_file():
        return "loop"
    names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    if (names and all(_EVALUATION_FILES.match(n) for n in names)
            and any(n.startswith("metrics") for n in names)):
        return "evaluation"
    return None


def _recognise_quietly(folder: Path) -> str | None:
    try:
        return recognise(folder) if folder.is_dir() else None
    except OSError:  # an ancestor we may not list
        return None


def is_empty(folder: Path) -> bool:
    """True for a folder that holds nothing but (at most) a marker."""
    return all(p.name == MARKER for p in folder.iterdir())


def write_marker(folder: Path, kind: str) -> None:
    write_json(folder / MARKER, {"kind": kind, "tdf": __version__,
                                 "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def final_path(path: str | os.PathLike) -> Path:
    """Where `path` will be once the staging folders it lies in are swapped into place (the path
    itself outside staging). Outputs record this, never a staging path."""
    p = Path(path).resolve()
    for work, final in sorted(_STAGED.items(), key=lambda kv: -len(kv[0].parts)):  # innermost first
        if p == work or work in p.parents:
            p = final / p.relative_to(work)
    return p


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class _Lock:
    """An exclusive, non-blocking `flock` on `.NAME.tdf-lock` beside the output.

    The lock file is removed on release; a process killed with SIGKILL leaves it, unlocked
    (the kernel drops the lock with the process), and the next writer reuses it.
    """

    def __init__(self, out: Path):
        self.out = out
        self.path = out.parent / f".{out.name}{_LOCK}"
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, file_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise BadInput(f"another tdf process is writing this output right now (lock {self.path.name} "
                               f"is held); wait for it to finish or stop it", self.out) from None
            try:  # the previous holder may have removed the file between our open and flock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self.fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _swap_in(work: Path, out: Path) -> None:
    """Put the finished `work` folder at `out`, replacing what is there; remove the old one."""
    if not out.exists():
        os.replace(work, out)
        return
    if _exchange(work, out):
        shutil.rmtree(work, ignore_errors=True)  # `work` now holds the old output
        return
    old = temp_dir_in(out.parent, f".{out.name}{_OLD}")
    os.rmdir(old)
    os.replace(out, old)
    try:
        os.replace(work, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


class OutputFolder:
    """Claim the output folder `out` for a `kind` of output; use as a context manager.

    Inside the block call one of `create`, `resume` or `replace`; each returns the folder to
    write into. On a clean exit a staged folder is swapped into place; on an error (or an
    interrupt) it is removed and the old output is left as it was. The lock is held for the
    whole block. `inputs` are files or folders the command reads: an output that contains one
    of them is never replaced.
    """

    def __init__(self, out: str | os.PathLike, kind: str, inputs: Iterable[str | os.PathLike] = ()):
        if kind not in KINDS:
            raise ValueError(f"unknown output kind {kind!r}")
        self.given = Path(out)
        self.out = Path(os.path.abspath(out))
        self.kind = kind
        self.inputs = [Path(p).resolve() for p in inputs if p is not None]
        self.existing: str | None = None   # the kind of tdf output already at `out`, if any
        self.empty = True                   # `out` is absent or holds nothing but a marker
        self._lock = _Lock(self.out)
        self._work: Path | None = None      # staging folder, when replacing
        self._created = False                # `out` was made by this call (in place)
        self._in_place = False

    # -- claiming ------------------------------------------------------------------------
    def __enter__(self) -> "OutputFolder":
        out = self.out
        cwd = Path.cwd().resolve()
        if _inside(cwd, out.resolve()):
            raise BadInput(f"is the current folder or holds it; give a new folder for the {self.kind}",
                           self.given)
        if out.exists() and not out.is_dir():
            raise BadInput(f"is a file; give a folder for the {self.kind}", self.given)
        self._refuse_inside_another_output()
        out.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._remove_leftovers()
            if out.is_dir() and not is_empty(out):
                self.empty = False
                self.existing = recognise(out)
                if self.existing is None:
                    raise BadInput(f"holds files that tdf did not write; refusing to write a {self.kind} "
                                   f"there, with or without --force (give a new or empty folder)", self.given)
                if self.existing != self.kind:
                    raise BadInput(f"holds a tdf {self.existing}, not a {self.kind}; refusing to replace it, "
                                   f"with or without --force (give another folder)", self.given)
        except BaseException:
            self._lock.release()
            raise
        return self

    def _refuse_inside_another_output(self) -> None:
        """No output is written inside another command's output (a diagnosis inside a run, …),
        except the stages of a loop this process is writing and RUN/evaluations/*."""
        out = self.out.resolve()
        for parent in out.parents:
            if parent in _OWNED or parent in _STAGED:
                return
            if (self.kind == "evaluation" and parent == out.parent.parent and out.parent.name == "evaluations"
                    and _recognise_quietly(parent) in ("run", "fix")):
                return
            kind = _recognise_quietly(parent)
            if kind is not None:
                raise BadInput(f"lies inside {parent}, a tdf {kind}; tdf does not write one output inside "
                               f"another (give a folder outside it)", self.given)

    def _remove_leftovers(self) -> None:
        """Staging folders of writers that were killed (we hold the lock, so none is running);
        an old output caught mid-swap is put back."""
        name = self.out.name
        for p in self.out.parent.iterdir():
            if p.name.startswith(f".{name}{_OLD}") and p.is_dir():
                if self.out.exists():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.replace(p, self.out)
            elif p.name.startswith(f".{name}{_STAGING}") and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)

    def _check_inputs(self) -> None:
        for p in self.inputs:
            if _inside(p, self.out.resolve()):
                raise BadInput(f"holds {p}, which this command reads; refusing to replace it", self.given)

    # -- the three ways to write --------------------------------------------------------
    def create(self, force: bool = False, in_place: bool = False, hint: str = "") -> Path:
        """A new output: in place when `out` is absent or empty and `in_place` (a run that can be
        resumed after a kill), else staged; an existing output of this kind only with `force`."""
        if not self.empty:
            if not force:
                raise BadInput(f"already holds a tdf {self.kind}; pass --force to replace it{hint}",
                               self.given)
            return self.replace()
        if not in_place:
            return self._stage()
        self._created = not self.out.exists()
        self.out.mkdir(exist_ok=True)
        write_marker(self.out, self.kind)
        return self._own()

    def resume(self) -> Path:
        """The existing output itself, to continue writing it in place."""
        if self.empty:
            raise BadInput(f"holds no tdf {self.kind} to resume", self.given)
        if read_marker(self.out) is None:  # written by an older tdf: mark it as what it is
            write_marker(self.out, self.kind)
        return self._own()

    def _own(self) -> Path:
        self._in_place = True
        _OWNED.add(self.out.resolve())
        return self.out

    def replace(self, copy_old: bool = False) -> Path:
        """A staging folder that replaces the existing output when the block completes
        (`copy_old`: start from a copy of the old output, e.g. to extend a finished run)."""
        self._check_inputs()
        work = self._stage()
        if copy_old and not self.empty:
            for p in self.out.iterdir():
                if p.name in (MARKER, "evaluations"):
                    continue
                dest = work / p.name
                (shutil.copytree if p.is_dir() and not p.is_symlink() else shutil.copy2)(p, dest)
        return work

    def _stage(self) -> Path:
        work = temp_dir_in(self.out.parent, f".{self.out.name}{_STAGING}")
        self._work = work
        _STAGED[work.resolve()] = self.out.resolve()
        write_marker(work, self.kind)
        return work

    # -- finishing -----------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self._work is not None:
                try:
                    if exc_type is None:
                        raise_if_pending()  # a SIGTERM swallowed in a finalizer: do not swap in
                        _swap_in(self._work, self.out)
                finally:
                    _STAGED.pop(self._work.resolve(), None)
                    if self._work.exists():
                        shutil.rmtree(self._work, ignore_errors=True)
            elif exc_type is not None and self._in_place and self.out.is_dir() and is_empty(self.out):
                # nothing but our marker was written: leave no trace of the failed start
                if self._created:
                    shutil.rmtree(self.out, ignore_errors=True)
                else:
                    (self.out / MARKER).unlink(missing_ok=True)
        finally:
            if self._in_place:
                _OWNED.discard(self.out.resolve())
            self._lock.release()


@contextlib.contextmanager
def output_folder(out: str | os.PathLike, kind: str, force: bool = False,
                  inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """A staged output folder of `kind` at `out` (see OutputFolder): yields the folder to
    write into, swapped into place when the block completes."""
    with OutputFolder(out, kind, inputs=inputs) as folder:
        yield folder.create(force=force)
