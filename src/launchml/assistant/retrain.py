"""``launchml assistant retrain RUN --out RUN2``: the agents' corrections become training data.

Reads top to bottom: collect the corrections from the conversation store (the messages there
are already redacted), merge them into RUN's own examples, train RUN2 with RUN's project
settings, and measure RUN and RUN2 on the same held-out data. RUN is never modified; RUN2 is
built beside its final place and renamed into it only when complete.

The rules of the merge, in this order (texts are compared normalised: case-folded, punctuation
dropped, single spaces):

1. A message corrected more than once counts once, with its latest correction; so does the same
   text corrected in several conversations (the latest correction wins; the others are reported
   as ``conflicting`` when their intent differs).
2. A correction naming an intent RUN does not have is skipped and reported (add the intent, with
   its responses, to the project and run ``train``).
3. A correction whose text is in the held-out data is skipped and reported: training on it would
   make the before/after comparison dishonest.
4. A correction whose text is already a training example with the same intent adds nothing
   (``duplicate``). With another intent, **the correction wins**: the example is replaced by the
   correction and reported (``replaced``). An agent labelled a real customer's message after
   seeing the conversation; the example file may be older than the product it describes.
5. With at least ``MIN_HOLDOUT`` new corrections, a ``holdout`` share of them (default 0.2) is
   kept out of training and measured on, as the corrections' own held-out split.

The held-out data is RUN's test split (``data.intents_test``) when it has one; RUN2 then keeps
RUN's fit/validation split (``data.intents_val``) and adds the corrections to the fit side, so
that the corrections are the only difference between the two runs. Without a test split the
held-out data is RUN's validation split, which RUN2 does not train on (RUN used it only for
calibration and thresholds, so its figures there are slightly optimistic). RUN2 is evaluated on
the same data (and the held-out corrections) in its own report.

Measured per data set, for both runs: ``accuracy`` (the top intent is right) and
``answered_correctly`` (as a conversation's first message, the policy answers it with the right
intent, no handoff, no clarifying question). ``corrections_trained`` are the corrections RUN2
learned from: RUN2 saw them, so they show that the corrections took, not how RUN2 generalises.

RUN2 is a normal assistant run plus ``data/intents.csv`` (the merged training examples; its
``data/test.csv`` is the held-out data) and ``retrain.json`` (the merge's report and the
figures). Its ``assistant.yaml`` names these two files, so ``launchml assistant train
RUN2/assistant.yaml`` reproduces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from launchml import __version__
from launchml.assistant.data import Examples, read_examples
from launchml.assistant.policy import State, decide, normalise
from launchml.assistant.project import Project, load_project
from launchml.assistant.store import Correction, Message, Store, iso, open_existing
from launchml.errors import ConflictError, InvalidInputError, NotFoundError
from launchml.manifest import write_manifest
from launchml.runs import partial_dir, write_json, write_text_atomic

MIN_HOLDOUT = 10
RETRAIN_JSON = "retrain.json"


@dataclass
class CorrectedMessage:
    message_id: int
    text: str
    language: str | None
    intent: str
    author: str | None
    created_at: str | None


def read_corrections(store: Store) -> list[CorrectedMessage]:
    """Every customer message with a correction, with its latest one, oldest correction first."""
    query = (
        select(Correction, Message)
        .join(Message, Message.id == Correction.message_id)
        .where(Message.role == "customer")
        .order_by(Correction.id)
    )
    latest: dict[int, CorrectedMessage] = {}
    with Session(store.engine) as session:
        for correction, message in session.execute(query):
            latest.pop(message.id, None)  # re-inserted: the order is that of the latest
            latest[message.id] = CorrectedMessage(
                message.id, message.text, message.language, correction.intent,
                correction.author, iso(correction.created_at),
            )  # fmt: skip
    return list(latest.values())


@dataclass
class Merge:
    """What the corrections did to the training data (see the module rules)."""

    training: Examples
    trained: Examples  # corrections added to the training data
    held_out: Examples  # corrections kept out for measuring
    report: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    kept: list[int] = field(default_factory=list)  # the pool's examples still in training

    def counts(self) -> dict[str, int]:
        return {
            "trained": len(self.trained),
            "held_out": len(self.held_out),
            **{key: len(rows) for key, rows in self.report.items()},
        }


def merge_corrections(
    pool: Examples,
    held_out_data: Examples,
    corrections: list[CorrectedMessage],
    labels: list[str],
    default_language: str,
    holdout: float = 0.2,
    seed: int = 0,
) -> Merge:
    """Apply the module's rules: ``pool`` (the training examples) with the corrections merged."""
    report: dict[str, list[dict[str, Any]]] = {
        "conflicting": [], "unknown_intent": [], "in_held_out_data": [], "duplicate": [],
        "replaced": [],
    }  # fmt: skip
    by_text: dict[str, CorrectedMessage] = {}
    for c in corrections:  # oldest first: the latest correction of a text wins
        key = normalise(c.text)
        earlier = by_text.pop(key, None)
        if earlier is not None and earlier.intent != c.intent:
            report["conflicting"].append(_row(earlier, superseded_by=c.message_id))
        by_text[key] = c
    held_keys = {normalise(t) for t in held_out_data.texts}
    pool_index = {normalise(t): i for i, t in enumerate(pool.texts)}
    fresh: list[CorrectedMessage] = []
    dropped: set[int] = set()
    for key, c in by_text.items():
        if c.intent not in labels:
            report["unknown_intent"].append(_row(c))
        elif key in held_keys:
            report["in_held_out_data"].append(_row(c))
        elif key in pool_index and pool.intents[pool_index[key]] == c.intent:
            report["duplicate"].append(_row(c))
        else:
            if key in pool_index:
                i = pool_index[key]
                dropped.add(i)
                report["replaced"].append({**_row(c), "example": pool.texts[i],
                                           "example_intent": pool.intents[i]})  # fmt: skip
            fresh.append(c)
    as_examples = Examples(
        [c.text for c in fresh],
        [c.intent for c in fresh],
        [c.language or default_language for c in fresh],
    )
    n_hold = round(holdout * len(fresh)) if len(fresh) >= MIN_HOLDOUT else 0
    order = np.random.default_rng(seed).permutation(len(fresh))
    held = sorted(order[:n_hold].tolist())
    kept = sorted(order[n_hold:].tolist())
    trained = as_examples.subset(kept)
    survivors = [i for i in range(len(pool)) if i not in dropped]
    training = _concat(pool.subset(survivors), trained)
    return Merge(training, trained, as_examples.subset(held), report, survivors)


def _row(c: CorrectedMessage, **extra: Any) -> dict[str, Any]:
    return {"message_id": c.message_id, "text": c.text, "intent": c.intent, **extra}


# --------------------------------------------------------------------------------------------
# Measuring.


def measure(assistant: Any, examples: Examples) -> dict[str, Any]:
    """Accuracy and the share answered with the right intent on a first turn."""
    if not len(examples):
        return {"n": 0, "accuracy": None, "answered_correctly": None}
    cleaned = assistant.intents.clean(examples.texts)
    vectors = assistant.encoder.encode(cleaned)
    policy, titles = assistant.project.policy, assistant.titles
    top_right = answered = 0
    for i, (text, truth, lang) in enumerate(
        zip(examples.texts, examples.intents, examples.langs, strict=True)
    ):
        u = assistant.understand_encoded(text, [cleaned[i]], vectors[i : i + 1], lang)
        decision = decide(u, State(), policy, titles)
        top_right += u.candidates[0].intent == truth
        answered += decision.kind == "answer" and decision.intent == truth
    n = len(examples)
    return {
        "n": n,
        "accuracy": round(top_right / n, 4),
        "answered_correctly": round(answered / n, 4),
    }


# --------------------------------------------------------------------------------------------
# The whole command.


def retrain_assistant(
    run: str | Path,
    out: str | Path,
    store_url: str | None = None,
    holdout: float = 0.2,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train RUN2 (``out``) from RUN's project plus the store's corrections; returns the
    content of ``RUN2/retrain.json`` (the merge report and the before/after figures)."""
    from launchml.assistant.runtime import Assistant
    from launchml.assistant.train import train_assistant

    say = log or (lambda line: None)
    if not 0.0 <= holdout < 1.0:
        raise InvalidInputError(f"--holdout {holdout}: expected a share in [0, 1)")
    old = Assistant.load(run, store_url=store_url)
    final = Path(out)
    if final.exists() or partial_dir(final).exists():
        raise ConflictError(f"{final}: already exists; choose another --out")
    if final.resolve() == old.path.resolve():
        raise ConflictError(f"{final}: that is RUN itself; choose another --out")
    try:
        project = load_project(old.path / "assistant.yaml")
        fit, val, held_out_data = run_examples(old.path, project)
        pool = fit if val is None else _concat(fit, val)
        held_source = "RUN's validation split" if val is None else "RUN's test split"
        store = open_existing(old.store_url)
        try:
            corrections = read_corrections(store)
        finally:
            store.close()
        if not corrections:
            raise NotFoundError(
                f"{_safe_url(old.store_url)}: no corrections to train on (agents relabel "
                "messages in the inbox: 'this should have been intent X')"
            )
        say(f"{len(corrections)} corrected messages in {_safe_url(old.store_url)}")
        merge = merge_corrections(
            pool, held_out_data, corrections, old.intents.labels, project.lang, holdout, seed
        )
        if not len(merge.trained):
            raise InvalidInputError(
                f"none of the {len(corrections)} corrections is new training data "
                f"({_counts_line(merge.counts())}); RUN2 would be RUN"
            )
        n_fit = len(fit) if val is not None else None
        report = _train_and_measure(
            old, project, merge, n_fit, held_out_data, held_source, final, train_assistant, say
        )
    finally:
        old.close()
    return report


def run_examples(path: Path, project: Project) -> tuple[Examples, Examples | None, Examples]:
    """RUN's fit, validation (None when it is the held-out data) and held-out examples, from
    the splits it saved in ``data/``."""

    def read(name: str) -> Examples:
        return read_examples(path / "data" / name, project.languages, project.lang)

    fit, val = read("fit.csv"), read("val.csv")
    if (path / "data" / "test.csv").is_file():
        return fit, val, read("test.csv")
    return fit, None, val


def _train_and_measure(
    old: Any,
    project: Project,
    merge: Merge,
    n_fit: int | None,
    held_out_data: Examples,
    held_source: str,
    final: Path,
    train_assistant: Callable[..., Any],
    say: Callable[[str], None],
) -> dict[str, Any]:
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.retrain-", dir=final.parent))
    try:
        held_all = _concat(held_out_data, merge.held_out)
        merge.training.write_csv(scratch / "intents.csv")
        held_all.write_csv(scratch / "held_out.csv")
        project.data.intents = str(scratch / "intents.csv")
        project.data.intents_test = str(scratch / "held_out.csv")
        project.data.intents_val = None
        if n_fit is not None:  # keep RUN's validation split: only the corrections differ
            pool = _concat(_pool_part(merge, 0, n_fit), merge.trained)
            val = _pool_part(merge, n_fit, None)
            pool.write_csv(scratch / "intents.csv")
            val.write_csv(scratch / "val.csv")
            project.data.intents_val = str(scratch / "val.csv")
        say(f"training on {len(merge.training)} examples ({_counts_line(merge.counts())})")
        new = train_assistant(project, scratch / "run", log=say)
        try:
            figures = {
                "held_out": _before_after(old, new, held_out_data),
                "corrections_held_out": _before_after(old, new, merge.held_out),
                "corrections_trained": _before_after(old, new, merge.trained),
            }
        finally:
            new.close()
        work = scratch / "run"
        shutil.copyfile(scratch / "intents.csv", work / "data" / "intents.csv")
        _point_project_at_own_data(work)
        report = {
            "from_run": str(old.path),
            "store": _safe_url(old.store_url),
            "held_out_source": held_source,
            "counts": merge.counts(),
            "merge": merge.report,
            "figures": figures,
        }
        write_json(work / RETRAIN_JSON, report)
        write_manifest(work, {"kind": "assistant", "launchml_version": __version__})
        os.rename(work, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def _pool_part(merge: Merge, start: int, stop: int | None) -> Examples:
    """The kept training examples that came from pool rows ``[start, stop)``."""
    pool_rows = merge.training.subset(list(range(len(merge.kept))))
    chosen = [j for j, i in enumerate(merge.kept) if i >= start and (stop is None or i < stop)]
    return pool_rows.subset(chosen)


def _concat(a: Examples, b: Examples) -> Examples:
    return Examples(a.texts + b.texts, a.intents + b.intents, a.langs + b.langs)


def _before_after(old: Any, new: Any, examples: Examples) -> dict[str, Any]:
    return {"before": measure(old, examples), "after": measure(new, examples)}


def _point_project_at_own_data(work: Path) -> None:
    """RUN2's assistant.yaml names its own copies of the merged and the held-out examples
    (relative paths: load_project resolves them against the run directory)."""
    raw = yaml.safe_load((work / "assistant.yaml").read_text(encoding="utf-8"))
    raw["data"]["intents"] = "data/intents.csv"
    raw["data"]["intents_test"] = "data/test.csv"  # what train wrote of the held-out file
    if raw["data"].get("intents_val"):
        raw["data"]["intents_val"] = "data/val.csv"
    write_text_atomic(
        work / "assistant.yaml", yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    )


def _safe_url(url: str) -> str:
    """The store URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in counts.items() if n)


def format_figures(report: dict[str, Any]) -> list[str]:
    """The before/after table the CLI prints."""
    names = {
        "held_out": f"held out: {report['held_out_source']}",
        "corrections_held_out": "corrections held out",
        "corrections_trained": "corrections trained on (seen by RUN2)",
    }
    lines = [f"{'before -> after':<40} {'n':>5}  {'accuracy':>15}  {'answered right':>15}"]
    for key, name in names.items():
        pair = report["figures"][key]
        before, after = pair["before"], pair["after"]
        if not before["n"]:
            continue
        lines.append(
            f"{name:<40} {before['n']:>5}  {_arrow(before['accuracy'], after['accuracy']):>15}"
            f"  {_arrow(before['answered_correctly'], after['answered_correctly']):>15}"
        )
    return lines


def _arrow(before: float, after: float) -> str:
    return f"{before:.3f} -> {after:.3f}"


__all__ = ["format_figures", "merge_corrections", "read_corrections", "retrain_assistant"]
