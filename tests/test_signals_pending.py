"""A SIGTERM whose exception Python swallows (it landed inside a finalizer) is not lost: it is
raised again before an output is swapped into place (the flake CI hit in test_signals)."""

import gc
import os
import signal
import weakref

import pytest

from tdf import signals
from tdf.atomic import write_json
from tdf.outputs import output_folder


@pytest.fixture
def sigterm_handled():
    old_handler, old_hook = signal.getsignal(signal.SIGTERM), __import__("sys").unraisablehook
    signals.handle_sigterm()
    yield
    signal.signal(signal.SIGTERM, old_handler)
    __import__("sys").unraisablehook = old_hook
    signals.clear_pending()


class _Obj:
    pass


def _swallowed_sigterm():
    """Deliver SIGTERM while a weakref callback runs: Python prints-and-ignores the exception."""
    o = _Obj()
    weakref.finalize(o, os.kill, os.getpid(), signal.SIGTERM)
    del o
    gc.collect()


def test_swallowed_sigterm_stops_the_swap(sigterm_handled, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(signals.Interrupted):
        with output_folder(out, "diagnosis") as work:
            (work / "a.txt").write_text("new")
            _swallowed_sigterm()
    assert not out.exists()


def test_swallowed_sigterm_keeps_the_old_file(sigterm_handled, tmp_path):
    f = tmp_path / "x.json"
    write_json(f, {"v": 1})
    with pytest.raises(signals.Interrupted):
        with __import__("tdf.atomic", fromlist=["atomic_path"]).atomic_path(f) as tmp:
            tmp.write_text('{"v": 2}')
            _swallowed_sigterm()
    assert f.read_text().strip().endswith("}") and '"v": 1' in f.read_text()
    assert list(tmp_path.iterdir()) == [f]
