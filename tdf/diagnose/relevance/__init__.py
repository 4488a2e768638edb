"""Relevance: how much each input value (joint, frame, group) contributed to a class score.

One method per module, each returning arrays shaped like the input `[N, T, D]` (occlusion:
one score per joint group):

- `gradient_x_input`: ∂z_c/∂x̃ · x̃ on the normalised input (TensorFlow gradient).
- `lrp`: Layer-wise Relevance Propagation, ε-rule with z⁺/αβ for convs after ReLU, residual adds
  and pooling split by contribution (explicit numpy passes; Res-TCN and MS-Res-TCN).
- `group_occlusion`: the drop of the class score when a joint group is replaced by the mean
  skeleton.
- `aggregate`: per joint / frame / group sums and shares, and the relevance GIF.

Every method explains the pre-softmax score z_c of the predicted class unless told otherwise.
The registry of methods (what `--method` offers) is `tdf.diagnose.relevance_methods`, outside
this package so that reading it does not load the backend.
"""

from tdf.diagnose.relevance.aggregate import (
    group_shares, per_frame, per_group, per_joint, relevance_gif)
from tdf.diagnose.relevance.common import Attribution
from tdf.diagnose.relevance.gradient_x_input import gradient_x_input
from tdf.diagnose.relevance.lrp import lrp
from tdf.diagnose.relevance.occlusion import Occlusion, group_occlusion

__all__ = ["Attribution", "Occlusion", "gradient_x_input", "group_occlusion",
           "group_shares", "lrp", "per_frame", "per_group", "per_joint", "relevance_gif"]
