"""One synthetic sequence: a class's motion on a subject's body, with the planted cue, the
distractors, the shortcut posture, the camera and the noise. Each sample draws from
`numpy.random.default_rng((seed, class, index))`, so it does not depend on the others."""

from __future__ import annotations

import numpy as np

from tdf.data.layout import JOINT_NAMES, N_BODIES, N_COORDS, N_JOINTS
from tdf.data.synth.config import SynthConfig, coarse_names, is_train_subject
from tdf.data.synth.kinematics import REST_OFFSETS, euler, forward_kinematics, rot
from tdf.data.synth.motions import COARSE_MOTIONS, D2R, FINE_PATTERNS, fine_base, oscillation
from tdf.data.synth.weakness import apply_root_swing, distractor_groups_for, root_cues

FPS = 30.0


def _subject_offsets(cfg: SynthConfig, subject: int) -> np.ndarray:
    """Per-subject bone lengths: an overall scale times a per-bone jitter (seeded)."""
    rng = np.random.default_rng((cfg.seed, 1_000_003, subject))
    scale = rng.uniform(*cfg.scale_range)
    per_bone = 1.0 + rng.uniform(-cfg.bone_jitter, cfg.bone_jitter, size=(N_JOINTS, 1))
    return REST_OFFSETS * scale * per_bone


def generate_one(cfg: SynthConfig, label: int, index: int, subject: int, camera: int
                 ) -> tuple[np.ndarray, int]:
    """One sequence [frames, 2, 25, 3] of class `label`; returns it and the index of the
    shortcut posture planted in it (tests and benchmarks use it to check the correlation)."""
    rng = np.random.default_rng((cfg.seed, label, index))
    T = cfg.frames
    n_coarse = cfg.coarse_classes
    t_sec = np.arange(T) / FPS
    tempo = rng.uniform(*cfg.tempo_range)
    shift = rng.uniform(-0.1, 0.1)
    s = np.clip((np.arange(T) / (T - 1) - 0.5) * tempo + 0.5 + shift, 0.0, 1.0)

    angles = np.zeros((N_JOINTS, T, 3))
    A = {name: angles[j] for j, name in enumerate(JOINT_NAMES)}  # views into `angles`
    if label < n_coarse:
        trans = COARSE_MOTIONS[coarse_names(cfg)[label]](s, A)
    else:
        trans = fine_base(s, A, t_sec, rng)
    angles += rng.normal(0.0, cfg.posture_jitter_deg * D2R, size=(N_JOINTS, 1, 3))
    local = euler(*np.moveaxis(angles, (0, 1, 2), (2, 1, 0)))  # [T, 25, 3, 3]

    # The true cue: a small oscillation of the weak group (fine classes only).
    if label >= n_coarse:
        name, f, mode = FINE_PATTERNS[label - n_coarse]
        f *= 1.0 + rng.uniform(-cfg.cue_freq_jitter, cfg.cue_freq_jitter)
        amp = cfg.cue * (1.0 + rng.uniform(-cfg.cue_amplitude_jitter, cfg.cue_amplitude_jitter))
        a, b = oscillation(mode, f, t_sec, rng.uniform(0, 2 * np.pi))
        apply_root_swing(local, root_cues(cfg.weak_group), a, b, amp)

    # Distractors: the same oscillation vocabulary, drawn at random, on the other leaf groups.
    # (Always drawn, so switching them off leaves every other random number unchanged.)
    for g in distractor_groups_for(cfg.weak_group):
        name, f, mode = FINE_PATTERNS[int(rng.integers(0, cfg.fine_classes))]
        f *= 1.0 + rng.uniform(-cfg.cue_freq_jitter, cfg.cue_freq_jitter)
        amp = cfg.distractor_amplitude * (1.0 + rng.uniform(-cfg.cue_amplitude_jitter, cfg.cue_amplitude_jitter))
        a, b = oscillation(mode, f, t_sec, rng.uniform(0, 2 * np.pi))
        if amp > 0:
            apply_root_swing(local, root_cues(g), a, b, amp)

    # The shortcut: a static posture of the shortcut group, correlated with the fine class on
    # training subjects only.
    K = cfg.fine_classes
    if label >= n_coarse and is_train_subject(cfg, subject):
        k = label - n_coarse
        if rng.uniform() >= cfg.shortcut_correlation:
            k = int((k + rng.integers(1, K)) % K)
    else:
        k = int(rng.integers(0, K))
    ang = 2 * np.pi * k / K
    sc_amp = cfg.shortcut_amplitude * (1.0 + rng.uniform(-0.1, 0.1))
    ones = np.ones(T)
    apply_root_swing(local, root_cues(cfg.shortcut), np.cos(ang) * ones, np.sin(ang) * ones, sc_amp)

    offsets = _subject_offsets(cfg, subject)
    yaw = (camera - (cfg.cameras + 1) / 2) * cfg.camera_yaw_deg + rng.uniform(-1, 1) * cfg.yaw_jitter_deg
    # Facing the camera (body forward = −z of the camera), turned by the yaw.
    root_rot = np.broadcast_to(rot(np.array([0.0, 1.0, 0.0]), np.array(np.pi + yaw * D2R)), (T, 3, 3))
    base = np.array([rng.uniform(-1, 1) * cfg.translation_m, -0.2 + rng.uniform(-0.5, 0.5) * cfg.translation_m,
                     3.0 + rng.uniform(-1, 1) * cfg.translation_m])
    root_pos = base + trans @ root_rot[0].T
    pos = forward_kinematics(local, offsets, root_pos, root_rot)
    pos += rng.normal(0.0, cfg.noise_m, size=pos.shape)
    x = np.zeros((T, N_BODIES, N_JOINTS, N_COORDS), np.float32)
    x[:, 0] = pos
    return x, k
