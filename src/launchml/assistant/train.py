"""``launchml assistant train PROJECT --out RUN``: examples in, a complete assistant run out.

Reads top to bottom: load and check the project's data (before anything is written), split the
intent examples into fit and validation sets, train the intent classifier as a normal launchml
run inside the assistant run, encode everything once with the shared encoder, calibrate
(temperature scaling), simulate unknown intents to weigh the out-of-scope signals, choose the
thresholds, evaluate, write the artifact and rename it into place.

The assistant run directory::

    RUN/
      assistant.yaml     the resolved project
      intent/            the intent classifier: a normal launchml run (Run.load works on it)
      encoder/           the shared encoder, unless intent/encoder/ is the same model
      index.safetensors  unit vectors of the fit examples (kNN) and of the FAQ questions
      faq.json           the FAQ entries
      data/              fit.csv, val.csv (and test.csv): the examples as split
      assistant.json     temperature, out-of-scope weights and per-language thresholds
      evaluation.json    the figures of the report
      report.html        the evaluation as a page
      meta.json          versions, timings; manifest.json: sha256 of every file (written last)
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.numpy import save_file
from sklearn.model_selection import train_test_split

from launchml import __version__
from launchml.assistant.calibrate import ece, fit_temperature, softmax_t
from launchml.assistant.data import Examples, read_examples, read_faq_queries
from launchml.assistant.encoder import SentenceEncoder, default_cache_dir
from launchml.assistant.faq import FaqEntry, read_faq
from launchml.assistant.intents import IntentModel, head_logits, train_head
from launchml.assistant.oos import OOSScorer, knn_similarity, language_thresholds
from launchml.assistant.project import Project, load_project
from launchml.errors import (
    ConflictError,
    DamagedArtifactError,
    InvalidConfigError,
    InvalidInputError,
    LaunchMLError,
)
from launchml.manifest import write_manifest
from launchml.pipeline import train as train_run
from launchml.runs import finish_run, partial_dir, write_json, write_text_atomic

if TYPE_CHECKING:
    from launchml.assistant.runtime import Assistant

ASSISTANT_JSON = "assistant.json"


def train_assistant(
    project: Project | str | Path,
    out: str | Path,
    *,
    quiet: bool = True,
    log: Any = None,
) -> Assistant:
    """Train, calibrate and evaluate the assistant a project describes; return it loaded.

    Parameters
    ----------
    project: a :class:`Project` or the path of its YAML file (or of its directory).
    out: the assistant run directory to create (must not exist).
    quiet: no progress output from the intent classifier's training.
    log: a callable taking one line of text (progress and warnings); default: ignore.

    Example::

        assistant = train_assistant("shop-assistant/assistant.yaml", out="runs/shop-assistant")
        assistant.reply("c1", "where is my parcel?").kind     # 'answer'
    """
    from launchml.assistant.runtime import Assistant

    say = log or (lambda line: None)
    started = time.perf_counter()
    threads = torch.get_num_threads()  # frozen heads train on one thread: restored at the end
    if not isinstance(project, Project):
        project = load_project(project)
    data = load_data(project)
    final = Path(out)
    work = partial_dir(final)
    if final.exists() or work.exists():
        raise ConflictError(
            f"{final if final.exists() else work}: already exists; choose another --out"
        )
    work.mkdir(parents=True)
    try:
        (work / "data").mkdir()
        fit, val = data["fit"], data["val"]
        fit.write_csv(work / "data" / "fit.csv")
        val.write_csv(work / "data" / "val.csv")
        if data["test"] is not None:
            data["test"].write_csv(work / "data" / "test.csv")
        model_type = project.classifier.model.type
        say(f"training the intent classifier ({model_type}) on {len(fit)} examples")
        run = train_run(intent_config(project, work / "data"), out=work / "intent", quiet=quiet)
        encoder = SentenceEncoder.load(project.encoder)
        intents = IntentModel.over(run, encoder)
        shared = intents.shares_encoder
        say(f"encoding with {project.encoder} (shared with the classifier: {shared})")
        vectors = encode_all(encoder, intents, data)
        state, evaluation_inputs = calibrate_and_threshold(project, data, intents, vectors, say)
        from launchml.assistant.evaluation import evaluate_assistant

        evaluation = evaluate_assistant(project, data, intents, vectors, state, evaluation_inputs)
        save_artifact(work, project, encoder, intents, data, vectors, state, evaluation)
        timings = {"total_seconds": round(time.perf_counter() - started, 3)}
        write_json(work / "meta.json", _meta(project, data, timings))
        from launchml.assistant.report import render_report

        write_text_atomic(work / "report.html", render_report(project, evaluation, run))
        write_manifest(work, {"kind": "assistant", "launchml_version": __version__})
        finish_run(work, final)
    except LaunchMLError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        torch.set_num_threads(threads)
    return Assistant.load(final)


# --------------------------------------------------------------------------------------------
# Data.


def load_data(project: Project) -> dict[str, Any]:
    """Every table the project names, checked, with the intent examples split."""
    languages, default = project.languages, project.lang
    examples = read_examples(project.data.intents, languages, default)
    labels = sorted(set(examples.intents))
    if len(labels) < 2:
        raise InvalidInputError(f"{project.data.intents}: needs at least 2 intents, found {labels}")
    _check_responses(project, labels)
    if project.data.intents_val:
        fit = examples
        val = read_examples(project.data.intents_val, languages, default)
        if not len(val):
            raise InvalidInputError(f"{project.data.intents_val}: no examples (data.intents_val)")
        _check_known(val, labels, project.data.intents_val, project.data.intents)
    else:
        fit, val = split_examples(
            examples, project.data.val, project.data.seed, project.data.intents
        )
    test = None
    if project.data.intents_test:
        test = read_examples(project.data.intents_test, languages, default)
        _check_known(test, labels, project.data.intents_test, project.data.intents)
    faq = read_faq(Path(project.data.faq), languages) if project.data.faq else []
    oos = (
        read_examples(project.data.out_of_scope, languages, default, labelled=False)
        if project.data.out_of_scope
        else None
    )
    faq_test = None
    if project.data.faq_test:
        if not faq:
            raise InvalidConfigError("data.faq_test: needs data.faq (the FAQ it searches)")
        faq_test = read_faq_queries(project.data.faq_test, [e.question for e in faq])
    return {
        "labels": labels, "fit": fit, "val": val, "test": test, "faq": faq, "oos": oos,
        "faq_test": faq_test,
    }  # fmt: skip


def _check_known(examples: Examples, labels: list[str], path: str, source: str) -> None:
    unknown = sorted(set(examples.intents) - set(labels))
    if unknown:
        raise InvalidInputError(f"{path}: intents not in {source}: {', '.join(unknown)}")


def _check_responses(project: Project, labels: list[str]) -> None:
    from launchml.errors import did_you_mean

    for table in ("responses", "titles"):
        for intent in getattr(project, table):
            if intent not in labels:
                raise InvalidConfigError(
                    f"{table}.{intent}: no such intent in {project.data.intents}"
                    f"{did_you_mean(intent, labels)}"
                )
    for intent in project.policy.handoff_intents:
        if intent not in labels:
            raise InvalidConfigError(
                f"policy.handoff_intents: no intent {intent!r}{did_you_mean(intent, labels)}"
            )
    answered = [i for i in labels if i not in project.policy.handoff_intents]
    missing = [i for i in answered if project.lang not in project.responses.get(i, {})]
    if missing:
        raise InvalidConfigError(
            f"responses: no {project.lang} reply for intent{'s' * (len(missing) > 1)} "
            f"{', '.join(missing)} (add responses.{missing[0]}.{project.lang})"
        )


def split_examples(
    examples: Examples, val_share: float, seed: int, source: str
) -> tuple[Examples, Examples]:
    """Stratified by intent: every intent keeps at least one example on each side."""
    counts: dict[str, int] = {}
    for intent in examples.intents:
        counts[intent] = counts.get(intent, 0) + 1
    few = sorted(i for i, n in counts.items() if n < 2)
    if few:
        raise InvalidInputError(
            f"{source}: intent{'s' * (len(few) > 1)} {', '.join(few)} "
            f"{'have' if len(few) > 1 else 'has'} fewer than 2 examples; give each intent at "
            "least 5 (some are kept for calibration)"
        )
    index = np.arange(len(examples))
    n_val = max(round(val_share * len(examples)), len(counts))
    if len(examples) - n_val < len(counts):
        raise InvalidInputError(
            f"{source}: {len(examples)} examples are too few for {len(counts)} intents with "
            f"data.val {val_share}; give more examples or a smaller data.val"
        )
    fit_i, val_i = train_test_split(
        index, test_size=n_val, stratify=examples.intents, random_state=seed
    )
    return examples.subset(sorted(fit_i)), examples.subset(sorted(val_i))


def intent_config(project: Project, data_dir: Path) -> dict[str, Any]:
    """The launchml run config of the intent classifier."""
    model = project.classifier.model.model_dump(mode="json")
    explicit = project.classifier.model.transformer.model_fields_set
    if "pretrained" not in explicit:
        model["transformer"]["pretrained"] = project.encoder
    return {
        "data": {
            "train": str(data_dir / "fit.csv"),
            "val": str(data_dir / "val.csv"),
            "text_column": "text",
            "label_column": "intent",
        },
        "model": model,
        "train": project.classifier.train.model_dump(mode="json"),
    }


def encode_all(
    encoder: SentenceEncoder, intents: IntentModel, data: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Unit vectors of every text the training needs, cleaned as the classifier's, cached."""
    # a frozen head trains on one thread and leaves torch there: encoding wants every core
    torch.set_num_threads(os.cpu_count() or 1)
    cache = default_cache_dir()
    texts = {
        "fit": data["fit"].texts,
        "val": data["val"].texts,
        "test": data["test"].texts if data["test"] is not None else [],
        "faq": [e.question for e in data["faq"]],
        "oos": data["oos"].texts if data["oos"] is not None else [],
        "faq_test": data["faq_test"][0] if data["faq_test"] is not None else [],
    }
    return {name: encoder.encode(intents.clean(t), cache) for name, t in texts.items()}


# --------------------------------------------------------------------------------------------
# Calibration, simulated unknown intents, thresholds.


def label_index(labels: list[str], intents: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index.get(i, -1) for i in intents], dtype=np.int64)


def features(proba: np.ndarray, vectors: np.ndarray, reference: np.ndarray, k: int) -> dict:
    return {"probability": proba.max(axis=1), "knn": knn_similarity(vectors, reference, k)}


def calibrate_and_threshold(
    project: Project,
    data: dict[str, Any],
    intents: IntentModel,
    vectors: dict[str, np.ndarray],
    say: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Temperature, out-of-scope weights and thresholds; returns the saved state and the
    simulation's per-round scores (for the evaluation)."""
    val = data["val"]
    labels = intents.labels
    k = project.out_of_scope.k
    val_logits = intents.logits(intents.clean(val.texts), vectors["val"])
    y_val = label_index(labels, val.intents)
    temperature = fit_temperature(val_logits, y_val)
    val_proba = softmax_t(val_logits, temperature)
    in_val = features(val_proba, vectors["val"], vectors["fit"], k)

    rounds = simulate_unknown_intents(project, data, intents, vectors, say)
    out_parts = [r["out"] for r in rounds]
    if data["oos"] is not None and len(data["oos"]):
        oos_logits = intents.logits(intents.clean(data["oos"].texts), vectors["oos"])
        out_parts.append(
            features(softmax_t(oos_logits, temperature), vectors["oos"], vectors["fit"], k)
        )
    out = (
        {f: np.concatenate([p[f] for p in out_parts]) for f in ("probability", "knn")}
        if out_parts
        else None
    )
    # the weights come from the stand-in classifiers' in-scope and unknown messages together
    in_parts = [r["in"] for r in rounds] or [in_val]
    in_sim = {f: np.concatenate([p[f] for p in in_parts]) for f in ("probability", "knn")}
    weighed = OOSScorer.fit(in_sim, out, project.out_of_scope.score)
    # ... but the standardisation and the thresholds from the final classifier's validation data
    scorer = OOSScorer.fit(in_val, None, project.out_of_scope.score)
    scorer.weights, scorer.fitted_on = weighed.weights, weighed.fitted_on
    val_scores = scorer.score(in_val)
    thresholds = language_thresholds(
        val_scores,
        project.languages,
        val.langs,
        project.policy.in_scope_handoff,
        project.out_of_scope.min_language_examples,
    )
    state = {
        "labels": labels,
        "temperature": temperature,
        "ece_val_before": ece(softmax_t(val_logits, 1.0), y_val),
        "ece_val_after": ece(val_proba, y_val),
        "oos": scorer.to_json(),
        "k": k,
        "thresholds": thresholds,
        "shares_encoder": intents.shares_encoder,
        "encoder": project.encoder,
    }
    return state, {"rounds": rounds, "scorer": scorer, "val_scores": val_scores}


def simulate_unknown_intents(
    project: Project,
    data: dict[str, Any],
    intents: IntentModel,
    vectors: dict[str, np.ndarray],
    say: Any,
) -> list[dict[str, Any]]:
    """Rounds of hidden intents: a stand-in classifier and the kNN examples without them; the
    features of validation messages of known (``in``) and hidden (``out``) intents."""
    options = project.out_of_scope
    labels = intents.labels
    n_hide = max(1, round(options.simulated_share * len(labels)))
    if options.score != "combined" or options.simulated_rounds == 0 or len(labels) - n_hide < 2:
        return []
    fit, val = data["fit"], data["val"]
    rng = np.random.default_rng(project.data.seed)
    order = rng.permutation(labels).tolist()
    rounds = []
    for r in range(options.simulated_rounds):
        start = (r * n_hide) % len(order)
        hidden = set((order + order)[start : start + n_hide])
        known = [label for label in labels if label not in hidden]
        say(f"simulating unknown intents, round {r + 1}: hiding {', '.join(sorted(hidden))}")
        keep_fit = np.array([i not in hidden for i in fit.intents])
        keep_val = np.array([i not in hidden for i in val.intents])
        logits = stand_in_logits(project, data, intents, vectors, known, keep_fit, keep_val)
        y_known = label_index(
            known, [i for i, keep in zip(val.intents, keep_val, strict=True) if keep]
        )
        temperature = fit_temperature(logits[keep_val], y_known)
        proba = softmax_t(logits, temperature)
        feats = features(proba, vectors["val"], vectors["fit"][keep_fit], options.k)
        rounds.append(
            {
                "hidden": sorted(hidden),
                "in": {f: v[keep_val] for f, v in feats.items()},
                "out": {f: v[~keep_val] for f, v in feats.items()},
                "in_langs": [lang for lang, k in zip(val.langs, keep_val, strict=True) if k],
            }
        )
    return rounds


def stand_in_logits(
    project: Project,
    data: dict[str, Any],
    intents: IntentModel,
    vectors: dict[str, np.ndarray],
    known: list[str],
    keep_fit: np.ndarray,
    keep_val: np.ndarray,
) -> np.ndarray:
    """Logits on all validation messages of a classifier that never saw the hidden intents.

    Over the shared encoder it is the same head trained on the same vectors (seconds); any
    other model type is trained through the pipeline on the reduced examples.
    """
    fit, val = data["fit"], data["val"]
    y_fit = label_index(known, [i for i, k in zip(fit.intents, keep_fit, strict=True) if k])
    if intents.shares_encoder:
        y_val = label_index(known, [i for i, k in zip(val.intents, keep_val, strict=True) if k])
        head = train_head(
            vectors["fit"][keep_fit],
            y_fit,
            len(known),
            intents.run.config.train,
            intents.run.config.model.transformer.dropout,
            val=(vectors["val"][keep_val], y_val),
        )
        return head_logits(head, vectors["val"])
    import tempfile

    with tempfile.TemporaryDirectory(prefix="launchml-sim-") as tmp:
        tmp_path = Path(tmp)
        fit.subset(np.flatnonzero(keep_fit)).write_csv(tmp_path / "fit.csv")
        val.subset(np.flatnonzero(keep_val)).write_csv(tmp_path / "val.csv")
        run = train_run(intent_config(project, tmp_path), out=tmp_path / "run", quiet=True)
        if run.labels != known:
            raise DamagedArtifactError(
                "the stand-in classifier's labels differ from the known intents"
            )
        stand_in = IntentModel(run, shares_encoder=False)
        return stand_in.logits(stand_in.clean(val.texts), vectors["val"])


# --------------------------------------------------------------------------------------------
# The artifact.


def save_artifact(
    work: Path,
    project: Project,
    encoder: SentenceEncoder,
    intents: IntentModel,
    data: dict[str, Any],
    vectors: dict[str, np.ndarray],
    state: dict[str, Any],
    evaluation: dict[str, Any],
) -> None:
    write_text_atomic(work / "assistant.yaml", project.to_yaml())
    if not intents.shares_encoder:
        encoder.save(work / "encoder")
    fit_labels = label_index(intents.labels, data["fit"].intents)
    save_file(
        {
            "intent_vectors": np.ascontiguousarray(vectors["fit"], dtype=np.float32),
            "intent_labels": fit_labels,
            "faq_vectors": np.ascontiguousarray(vectors["faq"], dtype=np.float32).reshape(
                len(data["faq"]), encoder.dim
            ),
        },
        str(work / "index.safetensors"),
    )
    write_json(work / "faq.json", [_entry_json(e) for e in data["faq"]])
    write_json(work / ASSISTANT_JSON, state)
    write_json(work / "evaluation.json", evaluation)


def _entry_json(entry: FaqEntry) -> dict[str, Any]:
    return {"id": entry.id, "question": entry.question, "answer": entry.answer, "lang": entry.lang}


def _meta(project: Project, data: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    from launchml.profiling import package_versions

    return {
        "kind": "assistant",
        "launchml_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "name": project.name,
        "languages": project.languages,
        "encoder": project.encoder,
        "sizes": {
            "fit": len(data["fit"]),
            "val": len(data["val"]),
            "test": len(data["test"]) if data["test"] is not None else 0,
            "faq": len(data["faq"]),
            "out_of_scope": len(data["oos"]) if data["oos"] is not None else 0,
        },
        "timings": timings,
        "packages": package_versions(),
    }


__all__ = ["ASSISTANT_JSON", "load_data", "train_assistant"]
