"""The generator's parameters (`SynthConfig`, stored as JSON in the store's `generator`
attribute), their checks, and the names they give: classes and subjects."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from tdf.data.layout import COMPOSITES, GROUPS, JOINT_NAMES
from tdf.data.splits import XSUB_TRAIN_SUBJECTS
from tdf.data.synth.kinematics import ancestors
from tdf.data.synth.motions import COARSE_MOTIONS, FINE_PATTERNS, MAX_FINE
from tdf.data.synth.weakness import default_cue_amplitude, group_roots, moved_joints, shortcut_group_for
from tdf.errors import BadInput


@dataclass
class SynthConfig:
    """All parameters of the generator (stored as JSON in the store's `generator` attribute)."""

    coarse_classes: int = 6
    fine_classes: int = 4
    per_class: int = 240
    frames: int = 64
    subjects: int = 40
    cameras: int = 3
    weak_group: str = "hands"
    seed: int = 0
    shortcut_group: str | None = None  # None: chosen by shortcut_group_for(weak_group)
    shortcut_correlation: float = 0.9  # P(shortcut matches the class) on training subjects
    shortcut_amplitude: float = 0.25  # m, displacement of the shortcut group's far end
    cue_amplitude: float | None = None  # m, oscillation of the weak group's far end; None: by group
    cue_amplitude_jitter: float = 0.2  # ± fraction per sample
    distractor_amplitude: float = 0.2  # m, random look-alike oscillations of other leaf groups
    cue_freq_jitter: float = 0.08  # ± fraction per sample
    camera_yaw_deg: float = 20.0  # base yaw of camera c is (c - (cameras+1)/2) * this
    yaw_jitter_deg: float = 8.0
    translation_m: float = 0.1
    scale_range: tuple[float, float] = (0.9, 1.1)
    bone_jitter: float = 0.04
    posture_jitter_deg: float = 4.0
    tempo_range: tuple[float, float] = (0.85, 1.2)
    noise_m: float = 0.004
    train_subjects: tuple[int, ...] = XSUB_TRAIN_SUBJECTS

    def validate(self) -> "SynthConfig":
        """Check every parameter up front; BadInput names the option."""
        def need(ok, msg):
            if not ok:
                raise BadInput(msg)
        need(1 <= self.coarse_classes <= len(COARSE_MOTIONS),
             f"--coarse-classes must be 1..{len(COARSE_MOTIONS)}, got {self.coarse_classes}")
        need(2 <= self.fine_classes <= MAX_FINE, f"--fine-classes must be 2..{MAX_FINE}, got {self.fine_classes}")
        need(self.per_class >= 1, f"--per-class must be ≥ 1, got {self.per_class}")
        need(self.frames >= 16, f"--frames must be ≥ 16, got {self.frames}")
        need(2 <= self.subjects <= 999, f"--subjects must be 2..999, got {self.subjects}")
        need(1 <= self.cameras <= 999, f"--cameras must be 1..999, got {self.cameras}")
        need(self.weak_group in GROUPS or self.weak_group in COMPOSITES,
             f"unknown --weak-group {self.weak_group!r}; known groups: "
             + ", ".join(list(GROUPS) + list(COMPOSITES)))
        need(0.0 <= self.shortcut_correlation <= 1.0,
             f"--shortcut-correlation must be in [0, 1], got {self.shortcut_correlation}")
        for key in ("cue", "shortcut_amplitude", "distractor_amplitude", "noise_m"):
            name = "cue_amplitude" if key == "cue" else key
            need(getattr(self, key) >= 0, f"--{name.replace('_', '-')} must be ≥ 0, got {getattr(self, key)}")
        if self.shortcut_group is not None:
            need(self.shortcut_group in GROUPS or self.shortcut_group in COMPOSITES,
                 f"unknown shortcut group {self.shortcut_group!r}")
            overlap = moved_joints(self.shortcut_group) & (moved_joints(self.weak_group)
                                                            | set().union(*(ancestors(r) for r in group_roots(self.weak_group))))
            need(not overlap, f"shortcut group {self.shortcut_group!r} moves joints of weak group "
                              f"{self.weak_group!r} ({', '.join(JOINT_NAMES[j] for j in sorted(overlap))})")
        return self

    @property
    def shortcut(self) -> str:
        return self.shortcut_group or shortcut_group_for(self.weak_group)

    @property
    def cue(self) -> float:
        """The cue amplitude in metres: `cue_amplitude`, or the default for the weak group."""
        return default_cue_amplitude(self.weak_group) if self.cue_amplitude is None else self.cue_amplitude

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["shortcut_group"] = self.shortcut
        d["cue_amplitude"] = self.cue
        return json.dumps(d)


def coarse_names(cfg: SynthConfig) -> list[str]:
    return list(COARSE_MOTIONS)[: cfg.coarse_classes]


def fine_names(cfg: SynthConfig) -> list[str]:
    return [f"fine_{cfg.weak_group}_{FINE_PATTERNS[k][0]}" for k in range(cfg.fine_classes)]


def class_names(cfg: SynthConfig) -> list[str]:
    """Coarse classes first, then the fine ones (label = index)."""
    return coarse_names(cfg) + fine_names(cfg)


def subject_ids(cfg: SynthConfig) -> list[int]:
    """NTU-style performer ids 1..subjects."""
    return list(range(1, cfg.subjects + 1))


def is_train_subject(cfg: SynthConfig, subject: int) -> bool:
    return subject in cfg.train_subjects
