"""The assistant's benchmarks (docs/BENCHMARKS.md, "The customer-service assistant").

Usage::

    python benchmarks/assistant.py oos  [--encoder minilm|mpnet]   # Banking77, 10 intents unseen
    python benchmarks/assistant.py faq  [--encoder minilm|mpnet]   # COVID-QA FAQ vs BM25
    python benchmarks/assistant.py xsid                            # languages: tf-idf vs MiniLM
    python benchmarks/assistant.py http [--run RUN]                # one chat turn over loopback

Each prints one JSON line per result, with the machine and its load average.

- ``oos``: the protocol of ``benchmarks/unknown_intents.py``: 10 intents (seed 0) held out of
  training entirely; the assistant trains on the other 67 (its own 90/10 split: calibration and
  thresholds on the 10%), with its default recipe. On the official test split: in-scope
  accuracy, AUROC of unknown vs known queries and the share of unknown queries handed off at the
  threshold (target: at most 5% of in-scope handed off), for the top calibrated probability
  (threshold: 5th percentile on validation, as unknown_intents.py) and the combined score.
- ``faq``: index the 213 questions of faq_covidbert.csv; query with question_2 of the similar
  pairs of eval_question_similarity_en.csv; the target is the entry whose question is
  question_1. Recall@1/@3 and MRR for the encoder's cosine, BM25 (rank-bm25 BM25Okapi) and a
  fusion (cosine + w x BM25 / max BM25, w picked on one half of the queries, scored on the
  other, both ways).
- ``xsid``: one classifier on all languages' ``valid`` rows, scored per language on ``test``:
  tfidf_logreg (word + character n-grams) and the frozen MiniLM path; and lingua's language-ID
  accuracy on ``test`` among the languages it knows.
- ``http``: the example project's assistant served by uvicorn on 127.0.0.1; sequential turns
  for p50/p99, then 8 concurrent clients for a bounded time: requests/s and errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
from bench_common import SHARED_DATA, load_average, machine

HELD_OUT = 10


def emit(result: dict[str, Any]) -> None:
    result = {**result, "machine": machine(), "load_average": load_average()}
    result["date"] = time.strftime("%Y-%m-%d")
    print(json.dumps(result), flush=True)


def auroc(known: np.ndarray, unknown: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    truth = np.r_[np.zeros(len(known)), np.ones(len(unknown))]
    return float(roc_auc_score(truth, -np.r_[known, unknown]))


# --------------------------------------------------------------------------------------------


def bench_oos(encoder: str) -> None:
    from launchml.assistant.oos import choose_threshold
    from launchml.assistant.train import train_assistant

    bank = SHARED_DATA / "banking77"
    train = pd.read_csv(bank / "train.csv")
    test = pd.read_csv(bank / "test.csv")
    intents = sorted(train["category"].unique())
    rng = np.random.default_rng(0)
    held_out = sorted(rng.choice(intents, size=HELD_OUT, replace=False).tolist())
    known = train[~train["category"].isin(held_out)]
    is_known = ~test["category"].isin(held_out).to_numpy()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        known.rename(columns={"category": "intent"}).to_csv(root / "intents.csv", index=False)
        test[is_known].rename(columns={"category": "intent"}).to_csv(root / "test.csv", index=False)
        project = {
            "name": "banking77",
            "encoder": encoder,
            "data": {"intents": "intents.csv", "intents_test": "test.csv", "val": 0.1},
            "responses": {i: {"en": i} for i in sorted(known["category"].unique())},
        }
        (root / "assistant.yaml").write_text(json.dumps(project), encoding="utf-8")
        started = time.perf_counter()
        bot = train_assistant(root / "assistant.yaml", out=root / "run")
        train_seconds = time.perf_counter() - started
        scored = bot.score(list(test["text"]))
        # the top-probability baseline, thresholded as unknown_intents.py does
        val = pd.read_csv(root / "run" / "data" / "val.csv")
        val_scored = bot.score(list(val["text"]))
    labels = np.array(bot.intents.labels)
    top = scored["proba"].max(axis=1)
    predicted = labels[scored["proba"].argmax(axis=1)]
    accuracy = float(np.mean(predicted[is_known] == test["category"].to_numpy()[is_known]))
    p_threshold = choose_threshold(val_scored["proba"].max(axis=1), 0.05)
    s, t = scored["in_scope"], scored["threshold"]
    evaluation = bot.evaluation
    emit(
        {
            "benchmark": f"assistant oos banking77 ({encoder})",
            "held_out_intents": held_out,
            "known_test_rows": int(is_known.sum()),
            "unknown_test_rows": int((~is_known).sum()),
            "in_scope_accuracy": round(accuracy, 4),
            "temperature": round(bot.state["temperature"], 4),
            "ece_before": round(evaluation["calibration"]["ece_before"], 4),
            "ece_after": round(evaluation["calibration"]["ece_after"], 4),
            "weights": bot.state["oos"]["weights"],
            "probability": {
                "auroc": round(auroc(top[is_known], top[~is_known]), 4),
                "known_handed_off": round(float(np.mean(top[is_known] < p_threshold)), 4),
                "unknown_handed_off": round(float(np.mean(top[~is_known] < p_threshold)), 4),
            },
            "combined": {
                "auroc": round(auroc(s[is_known], s[~is_known]), 4),
                "known_handed_off": round(float(np.mean(s[is_known] < t[is_known])), 4),
                "unknown_handed_off": round(float(np.mean(s[~is_known] < t[~is_known])), 4),
            },
            "knn_alone_auroc": round(_knn_auroc(bot, scored, is_known), 4),
            "simulated_on_val": {
                k: round(v, 4)
                for k, v in (evaluation["out_of_scope"]["simulated"] or {}).items()
                if isinstance(v, float)
            },
            "train_seconds": round(train_seconds, 1),
        }
    )
    bot.close()


def _knn_auroc(bot: Any, scored: dict[str, np.ndarray], is_known: np.ndarray) -> float:
    from launchml.assistant.oos import knn_similarity

    knn = knn_similarity(scored["vectors"], bot.reference, bot.state["k"])
    return auroc(knn[is_known], knn[~is_known])


# --------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _ranks(scores: np.ndarray, targets: list[int]) -> list[int]:
    order = np.argsort(-scores, axis=1, kind="stable")
    return [int(np.flatnonzero(order[i] == t)[0]) + 1 for i, t in enumerate(targets)]


def bench_faq(encoder_name: str) -> None:
    from rank_bm25 import BM25Okapi

    from launchml.assistant.encoder import SentenceEncoder
    from launchml.assistant.faq import retrieval_scores

    folder = SHARED_DATA / "covid_faq"
    faq = pd.read_csv(folder / "faq_covidbert.csv")
    questions = [str(q).strip() for q in faq["question"]]
    pairs = pd.read_csv(folder / "eval_question_similarity_en.csv")
    pairs = pairs[pairs["similar"] == 1]
    index = {q: i for i, q in enumerate(questions)}
    pairs = pairs[pairs["question_1"].str.strip().isin(index)]
    queries = [str(q) for q in pairs["question_2"]]
    targets = [index[q.strip()] for q in pairs["question_1"]]

    started = time.perf_counter()
    encoder = SentenceEncoder.load(encoder_name)
    cosine = encoder.encode(queries) @ encoder.encode(questions).T
    encode_seconds = time.perf_counter() - started
    bm25 = BM25Okapi([_words(q) for q in questions])
    lexical = np.array([bm25.get_scores(_words(q)) for q in queries])
    lexical_norm = lexical / np.maximum(lexical.max(axis=1, keepdims=True), 1e-9)

    def scores(ranks: list[int]) -> dict[str, float]:
        return {k: round(v, 4) for k, v in retrieval_scores(ranks).items()}  # type: ignore[arg-type]

    # fusion weight: chosen on one half, scored on the other (both ways)
    half = np.arange(len(queries)) % 2 == 0
    weights = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0]
    fused_ranks: list[int] = [0] * len(queries)
    chosen = []
    for pick in (half, ~half):
        rows = np.flatnonzero(pick)
        mrr = [
            retrieval_scores(
                _ranks(cosine[rows] + w * lexical_norm[rows], [targets[i] for i in rows])  # type: ignore[arg-type]
            )["mrr"]
            for w in weights
        ]
        w = weights[int(np.argmax(mrr))]
        chosen.append(w)
        other = np.flatnonzero(~pick)
        for i, r in zip(
            other, _ranks(cosine[other] + w * lexical_norm[other], [targets[i] for i in other]),
            strict=True,
        ):  # fmt: skip
            fused_ranks[i] = r
    emit(
        {
            "benchmark": f"assistant faq covid_faq en ({encoder_name})",
            "faq_entries": len(questions),
            "queries": len(queries),
            "cosine": scores(_ranks(cosine, targets)),
            "bm25": scores(_ranks(lexical, targets)),
            "fusion": {**scores(fused_ranks), "weights_chosen": chosen},
            "encode_seconds": round(encode_seconds, 1),
        }
    )


# --------------------------------------------------------------------------------------------


def bench_xsid() -> None:
    from launchml.assistant.language import SUPPORTED, LanguageIdentifier
    from launchml.pipeline import train

    folder = SHARED_DATA / "xsid"
    valid = pd.read_json(folder / "valid.jsonl", lines=True)
    test = pd.read_json(folder / "test.jsonl", lines=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        valid[["text", "intent"]].to_csv(root / "train.csv", index=False)
        for name, model, train_options in (
            ("tfidf_logreg", {"type": "tfidf_logreg"}, {}),
            (
                "minilm frozen",
                {"type": "transformer", "transformer": {"body": "frozen", "pooling": "mean"}},
                {"epochs": 40, "lr": 1e-2, "early_stopping": {"metric": "val_accuracy",
                                                               "patience": None}},
            ),
        ):  # fmt: skip
            config = {
                "data": {"train": str(root / "train.csv"), "text_column": "text",
                         "label_column": "intent", "split": {"val": 0.1, "seed": 0}},
                "model": model,
                "train": {"seed": 0, **train_options},
            }  # fmt: skip
            started = time.perf_counter()
            run = train(config, out=root / name.replace(" ", "-"))
            seconds = time.perf_counter() - started
            predicted = np.array(run.predict(list(test["text"])))
            correct = predicted == test["intent"].to_numpy()
            per_language = {
                lang: round(float(correct[(test["lang"] == lang).to_numpy()].mean()), 4)
                for lang in sorted(test["lang"].unique())
            }
            emit(
                {
                    "benchmark": f"assistant xsid intents ({name})",
                    "train_rows": len(valid),
                    "test_rows": len(test),
                    "accuracy": round(float(correct.mean()), 4),
                    "accuracy_per_language": per_language,
                    "train_seconds": round(seconds, 1),
                }
            )
    codes = sorted(code for code in test["lang"].unique() if code in SUPPORTED)
    identifier = LanguageIdentifier(codes, default="en", min_confidence=0.0, min_letters=0)
    rows = test[test["lang"].isin(codes)]
    started = time.perf_counter()
    found = [identifier.identify(t).language for t in rows["text"]]
    seconds = time.perf_counter() - started
    right = np.array(found) == rows["lang"].to_numpy()
    emit(
        {
            "benchmark": "assistant xsid language id (lingua)",
            "languages": codes,
            "rows": len(rows),
            "accuracy": round(float(right.mean()), 4),
            "accuracy_per_language": {
                c: round(float(right[(rows["lang"] == c).to_numpy()].mean()), 4) for c in codes
            },
            "ms_per_message": round(1000 * seconds / len(rows), 3),
        }
    )


# --------------------------------------------------------------------------------------------


def bench_http(
    run: str | None, requests_sequential: int = 200, seconds_concurrent: float = 20.0
) -> None:
    import socket
    import threading

    import httpx
    import uvicorn

    from launchml.assistant.example import init_project
    from launchml.assistant.web import create_app
    from launchml.serve import ServeSettings

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if run is None:  # train the example project (in a child process: its own threads)
            import subprocess
            import sys

            project = init_project(root / "project")
            command = [sys.executable, "-m", "launchml.cli", "assistant", "train", str(project),
                       "--out", str(root / "run"), "--quiet"]  # fmt: skip
            subprocess.run(command, check=True, capture_output=True)
        from launchml.assistant.runtime import Assistant

        bot = Assistant.load(run or root / "run", store_url=f"sqlite:///{root / 'chat.db'}")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(bot, ServeSettings(access_log=False)),
                host="127.0.0.1",
                port=port,
                log_level="error",
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}/v1/chat"
        messages = ["where is my parcel?", "I want my money back", "Wo ist mein Paket?",
                    "do you ship to Norway", "the pay button does nothing"]  # fmt: skip
        deadline = time.time() + 60
        while not server.started and time.time() < deadline:
            time.sleep(0.1)
        latencies = []
        with httpx.Client(timeout=30) as client:
            for i in range(requests_sequential):
                body = {"conversation_id": f"seq{i % 20}", "message": messages[i % len(messages)]}
                started = time.perf_counter()
                response = client.post(url, json=body)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
        counts = {"ok": 0, "errors": 0}
        first_error: list[str] = []
        lock = threading.Lock()
        stop = time.time() + seconds_concurrent

        def worker(n: int) -> None:
            with httpx.Client(timeout=30) as client:
                i = 0
                while time.time() < stop and i < 5000:
                    body = {"conversation_id": f"w{n}-{i % 10}", "message": messages[i % 5]}
                    response = client.post(url, json=body)
                    ok = response.status_code == 200
                    with lock:
                        counts["ok" if ok else "errors"] += 1
                        if not ok and not first_error:
                            first_error.append(f"{response.status_code} {response.text[:200]}")
                    i += 1

        started = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        server.should_exit = True
        thread.join(timeout=10)
        bot.close()
    ms = np.array(latencies) * 1000
    emit(
        {
            "benchmark": "assistant http chat turn (loopback, example project, SQLite)",
            "sequential_requests": requests_sequential,
            "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "concurrent_clients": 8,
            "requests_per_second": round(counts["ok"] / elapsed, 1),
            "errors": counts["errors"],
            "requests": counts["ok"] + counts["errors"],
            "first_error": first_error[0] if first_error else None,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["oos", "faq", "xsid", "http"])
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--run", help="http: serve this assistant run instead of training one")
    args = parser.parse_args()
    if args.what == "oos":
        bench_oos(args.encoder)
    elif args.what == "faq":
        bench_faq(args.encoder)
    elif args.what == "xsid":
        bench_xsid()
    else:
        bench_http(args.run)


if __name__ == "__main__":
    main()
