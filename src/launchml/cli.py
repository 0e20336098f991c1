"""The ``launchml`` command line. Thin: it parses options and calls the Python API.

User errors (:class:`launchml.errors.LaunchMLError`) print one ``error: ...`` line on stderr and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from launchml.errors import InvalidInputError, LaunchMLError

app = typer.Typer(
    help="launchml: from a CSV of texts or a folder of images to a shipped model, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Look at data before training on it.", no_args_is_help=True)
runs_app = typer.Typer(help="Finished runs.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(runs_app, name="runs")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _warn(line: str) -> None:
    typer.echo(line, err=True)


@data_app.command("inspect")
def data_inspect(
    path: Annotated[Path, typer.Argument(help="A data file, an image folder, or a config YAML.")],
    test: Annotated[Path | None, typer.Option(help="A test file to check against.")] = None,
    val: Annotated[Path | None, typer.Option(help="A validation file to check.")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the texts.")] = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding the labels.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto|csv|tsv|jsonl|parquet|...")] = "auto",
    quoting: Annotated[str, typer.Option(help="minimal, or none for GLUE-style TSV.")] = "minimal",
    as_json: JsonFlag = False,
) -> None:
    """Validation report: classes, empty/duplicate rows, leakage, unseen labels, lengths, sizes.

    Exits with status 1 when it finds problems that would stop training.
    """
    from launchml.config import DataConfig, load_config
    from launchml.data.inspect import format_report, inspect_data

    if path.suffix.lower() in (".yaml", ".yml"):
        data_config = load_config(path).data
    else:
        raw = {
            "train": str(path),
            "val": str(val) if val else None,
            "test": str(test) if test else None,
            "format": fmt,
            "text_column": text_column,
            "label_column": label_column,
            "quoting": quoting,
        }
        from launchml.config import validate_config

        data_config = validate_config({"data": raw}, "options").data
    assert isinstance(data_config, DataConfig)
    report = inspect_data(data_config)
    if as_json:
        _echo_json(report)
    else:
        typer.echo(format_report(report))
    if report["problems"]:
        raise typer.Exit(1)


SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a config key, e.g. --set train.epochs=3 (repeatable)."),
]
MlflowOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow", help="Track in MLflow at this URI (file:./mlruns, sqlite:///mlflow.db)."
    ),
]


def _mlflow_override(uri: str | None) -> list[str]:
    return [] if uri is None else [f"tracking.mlflow.uri={uri}"]


@app.command("train")
def train_command(
    config: Annotated[Path, typer.Argument(help="The run's config YAML.")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a config key, e.g. --set train.epochs=3 (repeatable)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/<time>-<model>).")
    ] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue this interrupted run.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    mlflow: MlflowOption = None,
    nproc: Annotated[
        int | None,
        typer.Option(
            help="Train in N processes on this machine (torchrun, data-parallel; "
            "train.batch_size stays the global batch)."
        ),
    ] = None,
) -> None:
    """Train a model; prints metrics, and the run directory on the last line."""
    from launchml import distributed
    from launchml.config import load_config
    from launchml.pipeline import TrainingInterrupted, train
    from launchml.recipes import describe_recipe

    resolved = load_config(config, [*(set_ or []), *_mlflow_override(mlflow)])
    if resume is not None and out is not None:
        raise InvalidInputError("--out and --resume: give one; --resume continues the run in place")
    if nproc is not None and (nproc != 1 or distributed.launched()):
        from launchml.launch import run_local

        args = ["train", str(config), *(f"--set={item}" for item in set_ or [])]
        args += [f"--out={out}"] if out is not None else []
        args += [f"--resume={resume}"] if resume is not None else []
        args += ["--quiet"] if quiet else []
        args += [f"--mlflow={mlflow}"] if mlflow is not None else []
        status = run_local(nproc, args)
        if status:
            raise typer.Exit(status)
        return
    recipe = describe_recipe(resolved)
    # on stdout (stderr is for warnings and the one error line), once (rank 0 under torchrun)
    if recipe and not quiet and os.environ.get("RANK", "0") == "0":
        typer.echo(recipe)
    try:
        run = train(resolved, out=out, resume=resume, quiet=quiet, log=_warn)
    except TrainingInterrupted as stop:
        if not distributed.session().is_main:
            raise typer.Exit(130) from None
        if stop.kept:
            again = ["launchml", "train", str(config)]
            again += [arg for item in set_ or [] for arg in ("--set", item)]
            again += ["--resume", str(stop.run)]
            _warn(f"interrupted; the run so far is kept, continue it with: {shlex.join(again)}")
        else:
            _warn("interrupted before the first checkpoint; nothing was kept")
        raise typer.Exit(130) from None
    is_main = distributed.session().is_main
    distributed.shutdown()
    if not is_main:
        return  # rank 0 reports
    _echo_run(run)


def _echo_run(run: Any) -> None:
    """A finished run's figures, its privacy budget spent, and its directory (last line)."""
    for split, metrics in run.metrics.items():
        typer.echo(
            f"{split}: accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
            f"(n={metrics['n']})"
        )
    privacy = run.meta.get("privacy")
    if privacy:
        typer.echo(
            f"privacy: epsilon {privacy['epsilon']:.3f} spent of {privacy['target_epsilon']:g} "
            f"(delta {privacy['delta']:.1e}, noise multiplier {privacy['noise_multiplier']:.3f}, "
            f"max_grad_norm {privacy['max_grad_norm']:g})"
        )
    typer.echo(str(run.path))


@app.command("tune")
def tune_command(
    config: Annotated[Path, typer.Argument(help="A config YAML with a tune: section.")],
    trials: Annotated[int, typer.Option(help="Trials in the whole study (over all workers).")],
    timeout: Annotated[
        float | None, typer.Option(help="Start no new trial after this many seconds.")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Shared database URL, e.g. postgresql://user@host/db (default: SQLite "
            "in the study folder)."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name (default: the config file's name).")
    ] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes on this machine.")] = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the study in its folder.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Study folder (default: studies/<study>).")
    ] = None,
    set_: SetOption = None,
    mlflow: MlflowOption = None,
    worker: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Search the config's tune.space with Optuna; each trial is a run in the study folder.

    Prints one line per trial, then the best trial; the study folder on the last line.
    """
    from launchml.config import load_config
    from launchml.tuning.study import tune

    resolved = load_config(config, [*(set_ or []), *_mlflow_override(mlflow)])
    result = tune(
        resolved,
        trials,
        timeout=timeout,
        storage=storage,
        study=study or config.stem,
        jobs=jobs,
        resume=resume,
        out=out,
        log=typer.echo,
        worker=worker,
    )
    if worker:
        return
    c = result.counts
    typer.echo(
        f"{c['complete']} finished, {c['pruned']} pruned, {c['fail']} failed; best: trial "
        f"{result.best_trial} with {result.metric} {result.best_value:.4f}"
    )
    if result.best_run is not None:
        typer.echo(f"best run: {result.best_run}  (linked as {result.path / 'best'})")
    typer.echo(f"report: {result.report}")
    typer.echo(str(result.path))


@app.command("federated")
def federated_command(
    config: Annotated[Path, typer.Argument(help="The run's config YAML.")],
    clients: Annotated[
        int | None, typer.Option(min=2, help="Simulated clients (federated.clients).")
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="FedAvg rounds (federated.rounds).")
    ] = None,
    partition: Annotated[
        str | None, typer.Option(help="iid, or by-label for non-iid clients (federated.partition).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key, e.g. --set federated.local_epochs=2."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default: runs/<time>-<model>).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per round.")] = False,
) -> None:
    """Train with federated averaging (Flower's FedAvg) over simulated clients that each keep a
    part of the training data; saves a normal run (the last line printed)."""
    from launchml.federated import train_federated

    overrides = list(set_ or [])
    for key, value in (("clients", clients), ("rounds", rounds), ("partition", partition)):
        if value is not None:
            overrides.append(f"federated.{key}={value}")
    run = train_federated(config, overrides, out=out, quiet=quiet, log=_warn)
    _echo_run(run)


@app.command("evaluate")
def evaluate_command(
    run: Annotated[Path, typer.Argument(help="A finished run directory.")],
    data: Annotated[Path, typer.Option(help="Labelled data to evaluate on.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Write metrics.json and misclassified.csv into this directory."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate a run on labelled data: accuracy, F1, calibration, confusions, speed, mistakes."""
    from launchml.evaluate import evaluate_path
    from launchml.evaluate_output import (
        check_evaluation_out,
        evaluation_json,
        format_evaluation,
        write_evaluation,
    )
    from launchml.runs import Run

    if out is not None:
        check_evaluation_out(out)  # before the work, not after it
    evaluation = evaluate_path(Run.load(run), data)
    for note in evaluation.notes:
        _warn(f"warning: {note}")
    if out is not None:
        for path in write_evaluation(evaluation, out):
            _warn(f"wrote {path}")
    if as_json:
        _echo_json(evaluation_json(evaluation))
        return
    typer.echo(format_evaluation(evaluation))


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(help="A finished run directory.")],
    out: Annotated[
        Path | None, typer.Option(help="The HTML file to write (default: RUN/report.html).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Evaluate on this labelled data instead of the test split.")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run (curves, errors, calibration, data)."""
    from launchml.report import build_report

    typer.echo(str(build_report(run, out=out, data=data)))


@app.command("compare")
def compare_command(
    runs: Annotated[list[Path], typer.Argument(help="Finished run directories.")],
    data: Annotated[
        Path | None, typer.Option(help="Score every run on this labelled data (fair comparison).")
    ] = None,
    sort: Annotated[
        str, typer.Option(help="accuracy, macro_f1, ece, train_seconds, latency_ms, size_mb, ...")
    ] = "macro_f1",
    html: Annotated[Path | None, typer.Option(help="Also write the leaderboard as HTML.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """A leaderboard of runs: accuracy, macro-F1, ECE, training time, latency, size."""
    from launchml.compare import compare_runs, format_leaderboard, leaderboard_html
    from launchml.outputs import check_output_file
    from launchml.runs import write_text_atomic

    if html is not None:
        check_output_file(html, "--html")
    rows, notes = compare_runs(list(runs), data=data, sort=sort)
    for note in notes:
        _warn(f"warning: {note}")
    if html is not None:
        write_text_atomic(html, leaderboard_html(rows, notes, sort))
        _warn(f"wrote {html}")
    if as_json:
        _echo_json(rows)
        return
    typer.echo(format_leaderboard(rows))


@app.command("predict")
def predict_command(
    run: Annotated[Path, typer.Argument(help="A finished run or an exported bundle directory.")],
    text: Annotated[
        str | None, typer.Argument(help="One text (or image path) to classify.")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="A table (CSV, TSV, JSONL, Parquet) or a text file with one input per line.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Write the predictions here (.csv or .parquet), streamed in chunks."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="auto (by extension)|csv|tsv|jsonl|parquet|text")
    ] = "auto",
    column: Annotated[
        str | None, typer.Option(help="The column to score (default: as in training).")
    ] = None,
    keep: Annotated[
        list[str] | None, typer.Option(help="Copy this input column into --output (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many labels to give per input.")] = 3,
    nproc: Annotated[int, typer.Option(help="Score with N processes.")] = 1,
    chunk_rows: Annotated[int, typer.Option(help="Rows read and scored at a time.")] = 10_000,
    device: Annotated[
        str | None, typer.Option(help="auto, cpu, cuda or cuda:N (default: the run's setting).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Predict labels (the user's strings) with their probabilities.

    With --output, every row of --input is scored into a CSV or Parquet file as it is read
    (flat memory, a progress bar on stderr); without it the predictions are printed.
    """
    from launchml.predict import top_predictions
    from launchml.scoring import iter_scored, score_file
    from launchml.scoring.score import load_predictor

    if (text is None) == (input_file is None):
        raise InvalidInputError("give either one TEXT argument or --input FILE")
    if top < 1:
        raise InvalidInputError(f"--top {top}: expected how many labels to show, 1 or more")
    if chunk_rows < 1:
        raise InvalidInputError(f"--chunk-rows {chunk_rows}: expected 1 or more")
    if text is not None:
        if output is not None:
            raise InvalidInputError("--output scores a whole --input file; drop it for one TEXT")
        (result,) = top_predictions(load_predictor(run, device), [text], top)
        if as_json:
            _echo_json(result)
        else:
            _echo_result(result)
        return
    assert input_file is not None
    if output is not None:
        if as_json:
            raise InvalidInputError("--json prints predictions; with --output they go to the file")
        summary = score_file(
            run, input_file, output, fmt=fmt, column=column, keep=keep or [], top=top,
            chunk_rows=chunk_rows, nproc=nproc, device=device, quiet=quiet,
        )  # fmt: skip
        _warn(summary.line())
        typer.echo(str(output))
        return
    if keep:
        raise InvalidInputError("--keep copies columns into --output; give --output FILE")
    results = iter_scored(
        run, input_file, fmt=fmt, column=column, top=top, chunk_rows=chunk_rows, nproc=nproc,
        device=device,
    )  # fmt: skip
    if as_json:
        rows = [{k: v for k, v in r.items() if k != "row"} for r in results]
        if not rows:
            raise InvalidInputError(f"{input_file}: no inputs (no non-empty rows or lines)")
        _echo_json(rows)
        return
    printed = 0
    for result in results:
        _echo_result(result)
        printed += 1
    if not printed:
        raise InvalidInputError(f"{input_file}: no inputs (no non-empty rows or lines)")


def _echo_result(result: dict[str, Any]) -> None:
    shown = "  ".join(f"{p['label']} {p['probability']:.3f}" for p in result["top"])
    typer.echo(f"{result['label']}\t{shown}\t{result['input']}")


@app.command("export")
def export_command(
    run: Annotated[Path, typer.Argument(help="A finished run directory.")],
    fmt: Annotated[str, typer.Option("--format", help="onnx (the only format).")] = "onnx",
    quantize: Annotated[
        str, typer.Option(help="int8 (dynamic quantisation, guarded by --max-drop) or none.")
    ] = "int8",
    out: Annotated[
        Path | None, typer.Option(help="Bundle directory (default: RUN/bundles/FORMAT-QUANTIZE).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Labelled data for the accuracy guard (default: val split).")
    ] = None,
    max_drop: Annotated[
        float, typer.Option(help="Most accuracy points int8 may lose against the torch model.")
    ] = 0.5,
    optimize: Annotated[
        bool, typer.Option(help="ONNX Runtime's transformer optimisations before quantising.")
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Export a run as a bundle (ONNX + tokenizer + manifest) that predicts without torch.

    The exported model is checked against the torch model first; a bundle that does not predict
    as the run does is refused and nothing is written. The last line is the bundle directory.
    """
    from launchml.exporter import export

    result = export(
        run,
        format=fmt,
        quantize=quantize,
        out=out,
        data=data,
        max_drop=max_drop,
        optimize=optimize,
        log=_warn,
    )
    if as_json:
        _echo_json({"bundle": str(result.path), "figures": result.figures})
        return
    for line in format_export(result.figures):
        typer.echo(line)
    typer.echo(str(result.path))


def format_export(figures: dict[str, Any]) -> list[str]:
    """The export's figures as a few lines of text."""
    acc, lat, size = figures["accuracy"], figures["latency_ms"], figures["size_bytes"]
    lines = [f"checked on {figures['data']['source']} ({figures['data']['n']} examples)"]
    lines.append(
        f"fp32: max |onnx - torch| {figures['fp32']['max_abs_diff']:.2g} "
        f"(allowed {figures['fp32']['tolerance']})"
    )
    shown = "  ".join(f"{k} {v:.4f}" for k, v in acc.items())
    lines.append(f"accuracy: {shown}")
    if "int8" in figures:
        i8 = figures["int8"]
        lines.append(
            f"int8: {i8['drop_points']:+.2f} points lost (max {i8['max_drop']:g}), "
            f"{i8['same_predictions']:.2%} same predictions as torch"
        )
    lines.append(
        f"latency (1 example, p50): torch {lat['torch']['p50']} ms, bundle "
        f"{lat['bundle']['p50']} ms ({lat['threads']} threads)"
    )
    lines.append(
        f"size: run model {size['run_model'] / 1e6:.1f} MB, bundle {size['bundle'] / 1e6:.1f} MB"
    )
    lines.extend(f"note: {note}" for note in figures.get("notes", []))
    return lines


@app.command("serve")
def serve_command(
    models: Annotated[list[Path], typer.Argument(help="Run or bundle directories to serve.")],
    host: Annotated[
        str | None,
        typer.Option(help="Address to bind [127.0.0.1]; any other needs an API key."),
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [8000].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [1].")] = None,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="A name per model, in order (default: the directory's)."),
    ] = None,
    api_key_file: Annotated[
        Path | None,
        typer.Option(help="File whose first line is the API key (or LAUNCHML_API_KEY)."),
    ] = None,
    max_batch_size: Annotated[
        int | None, typer.Option(help="Inputs merged into one model call [32].")
    ] = None,
    max_wait_ms: Annotated[
        float | None, typer.Option(help="Longest a request waits for others to batch with [2].")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Threads per model [all cores].")] = None,
    device: Annotated[
        str | None,
        typer.Option(help="Where runs predict: auto, cpu, cuda, cuda:N [the run's setting]."),
    ] = None,
) -> None:
    """Serve models over HTTP: POST /v1/models/NAME/predict, GET /v1/models, /docs, /metrics.

    Every setting is also a LAUNCHML_* environment variable (LAUNCHML_MAX_INPUTS, ...; see
    README), which a flag overrides.
    """
    from launchml.serve.server import serve, settings_from

    settings = settings_from(
        models=[str(m) for m in models],
        names=name,
        host=host,
        port=port,
        workers=workers,
        api_key_file=api_key_file,
        max_batch_size=max_batch_size,
        max_wait_ms=max_wait_ms,
        threads=threads,
        device=device,
    )
    serve(settings)


@app.command("explain")
def explain_command(
    run: Annotated[Path, typer.Argument(help="A finished run directory.")],
    inputs: Annotated[
        list[str] | None, typer.Argument(help="Texts (or image paths) to explain.")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input", help="A file with one text (or image path) per line."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="The label to explain (default: the predicted one).")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            min=2, max=4096, help="Integrated Gradients steps (default: until converged)."
        ),
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Also write the explanations as an HTML page.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Why the model decided: attributions per token (texts) or a heat map (images)."""
    from launchml.explain import explain
    from launchml.explain.render import explanations_page, format_explanation
    from launchml.outputs import check_output_file
    from launchml.predict import read_input_lines
    from launchml.runs import Run, write_text_atomic

    if bool(inputs) == (input_file is not None):
        raise InvalidInputError("give the inputs as arguments or as --input FILE (one of the two)")
    if html is not None:
        check_output_file(html, "--html")
    items = list(inputs) if inputs else read_input_lines(input_file)  # type: ignore[arg-type]
    loaded = Run.load(run)
    explanations = explain(loaded, items, target=target, steps=steps)
    assert isinstance(explanations, list)
    if html is not None:
        write_text_atomic(html, explanations_page(explanations, f"Explanations: {loaded.name}"))
        _warn(f"wrote {html}")
    if as_json:
        _echo_json([e.to_json() for e in explanations])
        return
    typer.echo("\n\n".join(format_explanation(e) for e in explanations))


@runs_app.command("list")
def runs_list(
    directory: Annotated[Path, typer.Argument(help="Where the runs are.")] = Path("runs"),
    as_json: JsonFlag = False,
) -> None:
    """Show finished runs with their key metrics, newest first."""
    from launchml.runs import list_runs

    rows = list_runs(directory, log=_warn)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        typer.echo(f"no finished runs in {directory}")
        return

    def fmt(value: Any) -> str:
        return (
            f"{value:.4f}" if isinstance(value, float) else ("-" if value is None else str(value))
        )

    header = f"{'run':<40} {'model':<14} {'val acc':>8} {'test acc':>8} {'test F1':>8} {'fit s':>8}"
    typer.echo(header)
    for r in rows:
        typer.echo(
            f"{r['run']:<40} {r['model']:<14} {fmt(r['val_accuracy']):>8} "
            f"{fmt(r['test_accuracy']):>8} {fmt(r['test_macro_f1']):>8} "
            f"{fmt(r['train_seconds']):>8}"
        )


def _register_optional_commands() -> None:
    from launchml.assistant.cli import app as assistant_app

    app.add_typer(assistant_app, name="assistant")
    try:
        from launchml.reference.cli import backprop_command
    except ImportError:  # pragma: no cover - the reference package ships with launchml
        return
    app.command("backprop")(backprop_command)


_register_optional_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one ``error:`` line and exit status 2 (under
    torchrun printed by rank 0 only: every process stops on the same error)."""
    try:
        app(args=argv)
    except LaunchMLError as exc:
        if os.environ.get("RANK", "0") == "0":
            print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # Ctrl-C outside training (which says how to resume)
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as exc:
        if type(exc).__name__ not in ("DistBackendError", "DistNetworkError", "DistStoreError"):
            raise
        # a process of a torchrun group died (or the network failed): no traceback per process
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        rank = os.environ.get("RANK", "?")
        print(f"error: process {rank} lost the other training processes ({first})", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
