"""`tdf loop`: train → diagnose → fix in one go, with one page that shows the baseline's
diagnosis and the comparison side by side.

```
DIR/baseline/     tdf train
DIR/diagnosis/    tdf diagnose
DIR/fixed/        tdf fix --diagnosis DIR/diagnosis
DIR/report.html   diagnosis + comparison
DIR/loop.json     the summary (paths and headline numbers)
```
With `--resume`, finished stages are reused and an interrupted one continues.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tdf.atomic import write_json, write_text
from tdf.console import Output
from tdf.errors import BadInput
from tdf.fix import INITS


def _complete(run: Path) -> bool:
    try:
        return json.loads((run / "run.json").read_text()).get("status") == "complete"
    except (OSError, ValueError):
        return False


def run_loop(data: str | os.PathLike, out_dir: str | os.PathLike, *, preset: str | None = None,
             config_file: str | None = None, overrides: dict[str, Any] | None = None,
             diagnose_options=None, init: str = INITS[0], resume: bool = False, force: bool = False,
             output: Output | None = None, tensorboard: str | os.PathLike | None = None,
             cache_mb: int | None = None) -> dict[str, Any]:
    """Train, diagnose and fix into `out_dir` (see the module docstring); `tensorboard`: a folder
    for TensorBoard event files of both trainings (its baseline/ and fixed/ subfolders);
    `cache_mb`: memory for decoded samples in both trainings (None: automatic; 0: none)."""
    from tdf.data.store import open_store
    from tdf.diagnose.pipeline import DiagnoseOptions, selected_views
    from tdf.outputs import OutputFolder
    from tdf.train_config import resolve_config

    output = output or Output(quiet=True)
    if resume and force:
        raise BadInput("give either --resume or --force, not both")
    out = Path(out_dir)
    cfg = resolve_config(preset, config_file, overrides or {})
    # Cheap checks first: a mistake is refused before anything is written or the backend loads.
    diagnose_options = diagnose_options or DiagnoseOptions(seed=cfg.seed)
    if diagnose_options.seed is None:  # one seed for the whole loop: the resolved configuration's
        diagnose_options = dataclasses.replace(diagnose_options, seed=cfg.seed)
    selected_views(diagnose_options)
    if init not in INITS:
        raise BadInput(f"--init must be one of {', '.join(INITS)}, got {init!r}")
    if tensorboard is not None:
        from tdf.train.fit import check_tensorboard
        check_tensorboard()
    open_store(data).close()
    # The loop folder is one output: a new loop is written in place (--resume continues it),
    # --force builds the whole new loop beside the old one and swaps it in when complete.
    with OutputFolder(out, "loop", inputs=[data]) as folder:
        if resume and not folder.empty:
            work = folder.resume()
        else:
            work = folder.create(force=force, in_place=True, hint=" (or --resume to continue it)")
        return _stages(LoopRun(data, work, out, cfg, preset, config_file, overrides, diagnose_options, init,
                               resume, output, tensorboard, cache_mb))


@dataclass
class LoopRun:
    """One loop's inputs and where it writes: `work` is the loop folder or its staging folder;
    paths reported are those under `out`, where the loop ends up."""

    data: str | os.PathLike
    work: Path
    out: Path
    cfg: Any                     # the resolved TrainConfig
    preset: str | None
    config_file: str | None
    overrides: dict[str, Any] | None
    diagnose_options: Any        # DiagnoseOptions, its seed resolved
    init: str
    resume: bool
    output: Output
    tensorboard: str | os.PathLike | None = None
    cache_mb: int | None = None

    def tensorboard_for(self, part: str) -> Path | None:
        return None if self.tensorboard is None else Path(self.tensorboard) / part


def _stages(loop: LoopRun) -> dict[str, Any]:
    """Train, diagnose and fix inside `loop.work`; write report.html and loop.json."""
    _train_stage(loop)
    diagnosis = _diagnose_stage(loop)
    out = loop.out
    summary: dict[str, Any] = {"data": str(Path(loop.data).resolve()), "out": str(out), "baseline": str(out / "baseline"),
                               "diagnosis": str(out / "diagnosis"), "fixed": None,
                               "recommended_groups": diagnosis["recommended_groups"],
                               "baseline_metrics": diagnosis["metrics"]}
    cmp = None
    if not diagnosis["recommended_groups"]:
        summary["stopped"] = stop_reason(diagnosis)
        loop.output.warn(f"{summary['stopped']}; the loop stops after the diagnosis (no fix trained)")
    else:
        cmp = _fix_stage(loop, diagnosis)
        summary["fixed"] = str(out / "fixed")
        summary["fixed_metrics"] = {k: cmp["fixed"][k] for k in ("top1", "top5", "mean_class_accuracy")}
        summary["judged_classes"] = cmp.get("judged_classes", cmp.get("targeted_classes"))
        summary["judged_mean"] = cmp.get("judged_mean", cmp.get("targeted_mean"))
    write_loop_report(diagnosis, loop.work / "diagnosis", cmp, loop.work / "report.html", summary.get("stopped"))
    summary["report"] = str(out / "report.html")
    write_json(loop.work / "loop.json", summary)
    return summary


def _train_stage(loop: LoopRun) -> None:
    """1/3: the baseline (reused when finished and resuming)."""
    from tdf.train.fit import fit_run
    base = loop.work / "baseline"
    loop.output.log(f"[bold]1/3 train[/] → {loop.out / 'baseline'}")
    if loop.resume and _complete(base):
        loop.output.log("  reusing the finished baseline")
        return
    fit_run(loop.data, base, loop.cfg, resume=loop.resume and (base / "run.json").exists(), output=loop.output,
            tensorboard=loop.tensorboard_for("baseline"), cache_mb=loop.cache_mb)


def _diagnose_stage(loop: LoopRun) -> dict[str, Any]:
    """2/3: the baseline's diagnosis (reused when written and resuming)."""
    from tdf.diagnose.pipeline import run_diagnosis
    diag_dir = loop.work / "diagnosis"
    loop.output.log(f"[bold]2/3 diagnose[/] → {loop.out / 'diagnosis'}")
    if loop.resume and (diag_dir / "diagnosis.json").is_file():
        loop.output.log("  reusing the finished diagnosis")
        return json.loads((diag_dir / "diagnosis.json").read_text())
    return run_diagnosis(loop.work / "baseline", loop.data, diag_dir, loop.diagnose_options, force=True,
                         output=loop.output)


def _fix_stage(loop: LoopRun, diagnosis: dict) -> dict[str, Any]:
    """3/3: the fix on the recommended groups (reused when finished with the same --init)."""
    from tdf.fix import FixOptions, fix_run
    fixed, diag_json = loop.work / "fixed", loop.work / "diagnosis" / "diagnosis.json"
    loop.output.log(f"[bold]3/3 fix[/] ({', '.join(diagnosis['recommended_groups'])}) → {loop.out / 'fixed'}")
    if loop.resume and _complete(fixed) and (fixed / "comparison.json").is_file():
        loop.output.log("  reusing the finished fix")
        cmp = json.loads((fixed / "comparison.json").read_text())
        if cmp.get("init", loop.init) != loop.init:
            raise BadInput(f"the finished fix started with --init {cmp['init']}, not {loop.init}; "
                           f"pass --force to train it again", fixed)
        return cmp
    opts = FixOptions(diagnosis=str(diag_json), init=loop.init, preset=loop.preset, config_file=loop.config_file,
                      overrides=loop.overrides, data=str(loop.data), tensorboard=loop.tensorboard_for("fixed"),
                      cache_mb=loop.cache_mb)
    return fix_run(loop.work / "baseline", fixed, opts, resume=loop.resume and (fixed / "run.json").exists(),
                   output=loop.output)


def stop_reason(diagnosis: dict) -> str:
    """Why a diagnosis leaves nothing to fix, in one sentence."""
    status = diagnosis.get("ranking_status") or {}
    if status.get("status") not in (None, "ranked") and status.get("message"):
        return f"nothing to fix: {status['message']}"
    from tdf.diagnose.ranking import THRESHOLD
    return (f"nothing to fix: no joint group's score interval has its lower end ≥ {THRESHOLD} "
            f"(the recommendation threshold)")


def write_loop_report(diagnosis: dict, diag_dir: Path, cmp: dict | None, out_html: Path,
                      stopped: str | None = None) -> Path:
    """The loop's page: comparison and diagnosis; embeds only pictures inside the loop folder."""
    from tdf.comparison import REGRESSION_NOTE, comparison_rows
    from tdf.html_page import Page, esc, table
    from tdf.diagnose.report_diagnosis import diagnosis_sections
    page = Page("tdf loop — train → diagnose → fix", f"data {diagnosis['data']}", roots=[out_html.parent],
                source=diag_dir / "diagnosis.json")
    page.h2("Fix: baseline vs MS-Res-TCN", "comparison")
    if cmp is None:
        page.p("No joint group was recommended, so no fix was trained: "
               + esc(stopped or stop_reason(diagnosis)) + ".")
    else:
        rows = [(("★ " if r.judged else "") + r.label, *r.cells()) for r in comparison_rows(cmp, with_judged_mean=False)]
        page.p(f"TA stream on <b>{esc(', '.join(map(str, cmp['groups'])))}</b>; ★ marks the judged classes: the baseline's weak classes, the same for every fix of this baseline. "
               + esc(REGRESSION_NOTE))
        page.raw(table(["class", "baseline", "fixed", "Δ"], rows, numeric={1, 2, 3}))
    page.h2("Diagnosis of the baseline", "diagnosis")
    diagnosis_sections(page, diagnosis, diag_dir)
    write_text(out_html, page.render())
    return out_html
