"""`tdf data synth OUT.h5`: synthetic skeletons with a planted weak joint group."""

from __future__ import annotations

import click

from tdf.console import get_output, output_options
from tdf.data.layout import COMPOSITES, GROUPS
from tdf.data.synth import SynthConfig, write_store

_DEFAULT = SynthConfig()


@click.command("synth")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--coarse-classes", type=int, default=_DEFAULT.coarse_classes, show_default=True,
              help="Classes of large body motions (arm_raise, squat, kick, ...).")
@click.option("--fine-classes", type=int, default=_DEFAULT.fine_classes, show_default=True,
              help="Classes that differ only in small motions of the weak group.")
@click.option("--per-class", type=int, default=_DEFAULT.per_class, show_default=True,
              help="Samples per class (cycling over subjects, then cameras).")
@click.option("--frames", type=int, default=_DEFAULT.frames, show_default=True,
              help="Frames per sequence (30 fps).")
@click.option("--subjects", type=int, default=_DEFAULT.subjects, show_default=True,
              help="Performers P001..; the NTU xsub rule picks the training ones.")
@click.option("--cameras", type=int, default=_DEFAULT.cameras, show_default=True,
              help="Camera ids C001..; each has its own yaw.")
@click.option("--weak-group", default=_DEFAULT.weak_group, show_default=True,
              help="Joint group carrying the fine classes' only true cue: "
                   + ", ".join(list(GROUPS) + list(COMPOSITES)) + ".")
@click.option("--shortcut-correlation", type=float, default=_DEFAULT.shortcut_correlation,
              show_default=True,
              help="How often the shortcut posture matches the fine class on training subjects "
                   "(it is random on test subjects).")
@click.option("--cue-amplitude", type=float, default=None,
              help="Metres: the weak group's class-specific oscillation (at its far end); "
                   "default 0.12, or 0.08 per part for hands/legs/arms.")
@click.option("--distractor-amplitude", type=float, default=_DEFAULT.distractor_amplitude,
              show_default=True,
              help="Metres: random look-alike oscillations of the other leaf groups (0 = none).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
@output_options
def synth(out, coarse_classes, fine_classes, per_class, frames, subjects, cameras, weak_group,
          shortcut_correlation, cue_amplitude, distractor_amplitude, seed, force):
    """Write a synthetic skeleton data set with a planted weakness to OUT (HDF5 store).

    Fine classes differ only in small oscillations of the weak group; on the training subjects
    a large posture cue in another group (the shortcut) also predicts them, on the test
    subjects it does not. The store's attributes record planted_group, shortcut_group,
    fine_classes and every generator parameter.
    """
    o = get_output()
    cfg = SynthConfig(coarse_classes=coarse_classes, fine_classes=fine_classes, per_class=per_class,
                      frames=frames, subjects=subjects, cameras=cameras, weak_group=weak_group,
                      shortcut_correlation=shortcut_correlation, cue_amplitude=cue_amplitude,
                      distractor_amplitude=distractor_amplitude, seed=seed).validate()
    total = (coarse_classes + fine_classes) * per_class
    with o.progress(transient=True) as p:
        task = p.add_task("generating", total=total, info="")
        summary = write_store(cfg, out, force=force, progress=lambda n: p.advance(task, n))

    def human(console):
        console.print(f"wrote {summary['n']} samples ({len(summary['classes'])} classes × {per_class}, "
                      f"T={frames}) to {summary['path']}")
        console.print(f"coarse: {', '.join(summary['coarse_classes'])}")
        console.print(f"fine:   {', '.join(summary['fine_classes'])}")
        console.print(f"planted weak group: {summary['planted_group']} "
                      f"(shortcut on {summary['shortcut_group']}, training subjects only); "
                      f"subjects {subjects} ({summary['train_subjects']} xsub-train), cameras {cameras}, "
                      f"seed {seed}")
    o.result(summary, human)
