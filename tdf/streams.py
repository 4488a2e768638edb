"""The streams of a two-stream (MS-Res-TCN) model: the one list of their names and the default.

`main` sees every joint, `ta` (Targeted Attention) only the targeted groups (Hou, Kim & Reiter,
"Train, Diagnose and Fix", arXiv:1711.08502, §4.2). A stream's name is the prefix of its layers
(`main_conv1`, `ta_unit4`). Diagnose, explain and the `--stream` choices read these names from
here. A leaf module (no numpy, no Keras), so the CLI's option lists and tdf.models can both
import it.
"""

from __future__ import annotations

MAIN = "main"
TA = "ta"
STREAMS: tuple[str, ...] = (MAIN, TA)
DEFAULT_STREAM = MAIN          # what a view of a two-stream model looks at unless told otherwise
MULTI_STREAM_KINDS = ("ms_res_tcn",)


def default_stream(kind: str) -> str | None:
    """The stream a view decodes for a model of `kind`: DEFAULT_STREAM for a two-stream model,
    None for a one-stream one."""
    return DEFAULT_STREAM if kind in MULTI_STREAM_KINDS else None
