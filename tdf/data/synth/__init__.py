"""Synthetic skeletons with a planted weak joint group (docs/design.md#synthetic-benchmark).

Why: the train → diagnose → fix loop needs data whose weakness is known. A weakness that is
only under-training disappears with more epochs (measured: docs/design.md#synthetic-benchmark),
so the one planted here is
*shortcut learning* ("Clever Hans"; Forsman & Singh, "Spatio-Temporal Attention for Video Action
Recognition", Uppsala University 1TD398 project report, 2020):

- **Coarse classes** are large body motions (arm raise, squat, kick, bow, ...).
- **Fine classes** share one coarse motion (standing, forearms forward, a slow common bob) and
  differ only in a small oscillation (a few cm) of the *weak group* G: the true cue.
- **Shortcut**: every sample also holds a large static posture offset of another joint group S
  (S is disjoint from G and from every joint whose motion would move G). On the xsub *training*
  subjects the offset of a fine-class sample matches its class with probability
  `shortcut_correlation` (a random other class otherwise); on the *test* subjects it is drawn
  independently of the class. Coarse samples get a random offset everywhere.
- **Distractors**: the other leaf groups (head, hands, legs — those that neither overlap what G's
  cue moves nor sit above G) make random oscillations from the same vocabulary as the cue,
  larger than it and unrelated to the class, so "something oscillates at frequency f" says
  nothing unless it is G that oscillates.

A model that sees only G must use the true cue and generalises. A model that sees everything
learns the easy shortcut first, and the cue's features are buried under the distractors' when
every joint is mixed in the first layer; trained to convergence, it stays at or near chance on
the fine classes of the test subjects. A two-stream model whose second stream sees only G (the
fix's Targeted-Attention stream) learns the cue there and trusts it over the shortcut, because on
the training subjects the cue is always right and the shortcut is not
(bench/planted_property.py measures all of this).

Kinematics: the Kinect-v2 25-joint tree by forward kinematics. Every joint j has a local
rotation L_j that turns its bone (parent → j) and everything below it: G_j = G_parent · L_j,
p_j = p_parent + G_parent · L_j · offset_j. Rotating the root bones of a group therefore moves
that group and its kinematic descendants only. For the leaf groups (hands, head, legs and their
halves) the cue stays inside G; for torso and arms it also moves the joints below them (hands,
head), which is unavoidable for a rigid skeleton; `planted_mask(G)` gives the dims the cue moves.

Nuisances: per-subject bone lengths (overall scale and per-bone jitter), per-sample posture
jitter, camera yaw (a base yaw per camera id plus jitter), translation, tempo and start shift
of the coarse motion, Gaussian sensor noise. Body 2 is all zeros (single-person actions).

Samples are generated from `numpy.random.default_rng((seed, class, index))`, so a data set is
identical for a seed regardless of order, and `iter_samples` can stream it.

One module a job: `kinematics` (the tree, rest offsets, forward kinematics), `motions` (the
coarse programs and fine patterns), `weakness` (where the cue, shortcut and distractors act),
`config` (SynthConfig and the names it gives), `sample` (one sequence), `writer` (the data set).
"""

from __future__ import annotations

from tdf.data.splits import XSUB_TRAIN_SUBJECTS
from tdf.data.synth.config import (SynthConfig, class_names, coarse_names, fine_names, is_train_subject,
                                   subject_ids)
from tdf.data.synth.kinematics import (CHILDREN, ORDER, PARENT, REST_OFFSETS, ROOT, ancestors, descendants, euler,
                                       forward_kinematics, rot)
from tdf.data.synth.motions import COARSE_MOTIONS, D2R, FINE_PATTERNS, MAX_FINE, bump
from tdf.data.synth.sample import FPS, generate_one
from tdf.data.synth.weakness import (CUE_AMPLITUDE_COMPOSITE, CUE_AMPLITUDE_ONE_PART, LEAF_GROUPS, RootCue,
                                     default_cue_amplitude, distractor_groups_for, group_roots, moved_joints,
                                     planted_mask, root_cues, shortcut_group_for)
from tdf.data.synth.writer import SynthSample, generate_arrays, iter_samples, plan, store_attrs, write_store

__all__ = [
    "CHILDREN", "COARSE_MOTIONS", "CUE_AMPLITUDE_COMPOSITE", "CUE_AMPLITUDE_ONE_PART", "D2R", "FINE_PATTERNS",
    "FPS", "LEAF_GROUPS", "MAX_FINE", "ORDER", "PARENT", "REST_OFFSETS", "ROOT", "RootCue", "SynthConfig",
    "SynthSample", "XSUB_TRAIN_SUBJECTS", "ancestors", "bump", "class_names", "coarse_names",
    "default_cue_amplitude", "descendants", "distractor_groups_for", "euler", "fine_names", "forward_kinematics",
    "generate_arrays", "generate_one", "group_roots", "is_train_subject", "iter_samples", "moved_joints",
    "planted_mask", "plan", "root_cues", "rot", "shortcut_group_for", "store_attrs", "subject_ids", "write_store",
]
