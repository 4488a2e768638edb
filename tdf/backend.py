"""Import TensorFlow/Keras once, without the C++ start-up chatter on stderr.

TensorFlow's native logging (absl) ignores TF_CPP_MIN_LOG_LEVEL for its start-up lines, so the
import runs with file descriptor 2 pointed at /dev/null (unless --debug). Errors raised by the
import itself still surface as Python exceptions.
"""

from __future__ import annotations

import os
import sys


def quiet_import_backend(debug: bool = False, init: bool = True) -> None:
    """Import keras (and TensorFlow, its default backend) with native stderr silenced.
    `init=False` leaves TensorFlow's runtime uninitialised (MultiWorkerMirroredStrategy must
    configure its collective ops before the first operation runs)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if debug or "keras" in sys.modules:
        import keras  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        import keras  # noqa: F401
        if init and keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            tf.constant(0.0) + 1.0  # initialises the runtime (its second burst of log lines)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_backend() -> None:
    """Import the backend quietly now, honouring --debug. Library entry points call it after
    their cheap checks of the input, so a bad argument or file is refused before TensorFlow's
    seconds-long import."""
    from tdf.console import get_output
    quiet_import_backend(debug=get_output().debug)
