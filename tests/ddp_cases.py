"""Tiny training problems that one process and a group of two must train alike
(tests/test_distributed.py).

Run as a torch.distributed worker: ``python -m tests.ddp_cases RANK WORLD PORT OUT [FD]``
joins a gloo group through a TCP store on 127.0.0.1:PORT (rank 0 hosts it on the listening
socket FD it inherits, so nothing binds beyond loopback), trains every case with
``launchml.trainer.fit`` and writes each case's history and final weights into OUT.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from launchml.config import CNNConfig, LSTMConfig, TextCNNConfig, TrainConfig
from launchml.inference.batching import ImageInputs, Inputs, TokenInputs
from launchml.models.cnn import CNNNet
from launchml.models.hf_encoder import BucketedBatches, TransformerNet
from launchml.models.lstm import LSTMNet
from launchml.models.mlp import MLPNet
from launchml.models.textcnn import TextCNNNet
from launchml.trainer import fit

N_TRAIN = 8 * 5 + 1  # the last batch of 8 holds one example: the second process gets none
N_VAL = 13

Problem = tuple[nn.Module, Inputs, np.ndarray, Inputs, np.ndarray, TrainConfig]


def options(**changes: Any) -> TrainConfig:
    base = {"epochs": 2, "batch_size": 8, "lr": 1e-2, "threads": 1, "seed": 0, "device": "cpu"}
    return TrainConfig.model_validate({**base, **changes})


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.integers(0, 80, (n, 12, 12, 1)).astype(np.uint8)
    for i, c in enumerate(y):
        x[i, 4 * c : 4 * c + 3] += 150
    return x, y.astype(np.int64)


def token_ids(n: int, seed: int, vocab: int) -> tuple[list[list[int]], np.ndarray]:
    """Sequences of 2-20 ids; class c draws its ids from band c of the vocabulary."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    band = (vocab - 10) // 3
    seqs = [(10 + c * band + rng.integers(0, band, int(rng.integers(2, 21)))).tolist() for c in y]
    return seqs, y.astype(np.int64)


def mlp_images(tmp: Path) -> Problem:
    """Class weights, label smoothing, accumulation, clipping and a moving average at once."""
    x, y = images(N_TRAIN, 0)
    xv, yv = images(N_VAL, 1)
    torch.manual_seed(0)
    net = MLPNet([144, 16, 3])
    opts = options(
        class_weights="balanced", label_smoothing=0.1, accumulate=2, grad_clip=0.5,
        ema_decay=0.9, warmup_ratio=0.2,
    )  # fmt: skip
    return net, ImageInputs(x), y, ImageInputs(xv), yv, opts


def cnn_images(tmp: Path) -> Problem:
    x, y = images(N_TRAIN, 2)
    xv, yv = images(N_VAL, 3)
    torch.manual_seed(0)
    net = CNNNet(1, (12, 12), 3, CNNConfig(widths=[4, 8], dense=8))
    return net, ImageInputs(x), y, ImageInputs(xv), yv, options(optimizer="sgd", lr=0.05)


def lstm_tokens(tmp: Path) -> Problem:
    seqs, y = token_ids(N_TRAIN, 4, 60)
    seqs_v, yv = token_ids(N_VAL, 5, 60)
    torch.manual_seed(0)
    net = LSTMNet(60, 0, 3, LSTMConfig(embedding_dim=8, hidden_size=8, dropout=0.0))
    return net, TokenInputs(seqs, 0), y, TokenInputs(seqs_v, 0), yv, options()


def textcnn_tokens(tmp: Path) -> Problem:
    """Convolutions of widths 2 and 3, embeddings at a tenth of the learning rate (two groups)."""
    seqs, y = token_ids(N_TRAIN, 8, 60)
    seqs_v, yv = token_ids(N_VAL, 9, 60)
    torch.manual_seed(0)
    cfg = TextCNNConfig(embedding_dim=8, filters=4, kernel_sizes=[2, 3], dropout=0.0,
                        embedding_lr_scale=0.1)  # fmt: skip
    net = TextCNNNet(60, 0, 3, cfg)
    return net, TokenInputs(seqs, 0), y, TokenInputs(seqs_v, 0), yv, options()


def transformer_bucketed(tmp: Path) -> Problem:
    """A 1-layer BERT under mean pooling (its pooler gets no gradient: DDP must be told) on
    length-bucketed batches, sharded per process."""
    source = tiny_bert(tmp / "bert")
    seqs, y = token_ids(N_TRAIN, 6, 120)
    seqs_v, yv = token_ids(N_VAL, 7, 120)
    torch.manual_seed(0)
    net = TransformerNet.build(source, 3, "mean", dropout=0.0)
    train = BucketedBatches(seqs, 0)
    train.chunk_batches = 2  # buckets smaller than the data: the order really is bucketed
    return net, train, y, BucketedBatches(seqs_v, 0), yv, options(lr=3e-3)


def tiny_bert(path: Path) -> Path:
    from transformers import BertConfig, BertModel

    if not (path / "config.json").is_file():
        config = BertConfig(
            vocab_size=120, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
            intermediate_size=20, max_position_embeddings=32, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )  # fmt: skip
        torch.manual_seed(0)
        BertModel(config).save_pretrained(str(path))
    return path


CASES: dict[str, Callable[[Path], Problem]] = {
    "mlp": mlp_images,
    "cnn": cnn_images,
    "lstm": lstm_tokens,
    "textcnn": textcnn_tokens,
    "transformer": transformer_bucketed,
}


def train_case(name: str, tmp: Path) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    net, train, y, val, yv, opts = CASES[name](tmp)
    history = fit(net, train, y, val, yv, opts, quiet=True)
    return history, {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def main(rank: int, world: int, port: int, out: Path, fd: int | None) -> None:
    import torch.distributed as dist

    store = dist.TCPStore(
        "127.0.0.1", port, world, rank == 0, master_listen_fd=fd if rank == 0 else None
    )
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world)
    try:
        for name in CASES:
            history, weights = train_case(name, out / "scratch")
            save_file(weights, str(out / f"{name}-rank{rank}.safetensors"))
            if rank == 0:
                (out / f"{name}.json").write_text(json.dumps(history), encoding="utf-8")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    rank_, world_, port_, out_ = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    main(rank_, world_, port_, Path(out_), int(sys.argv[5]) if len(sys.argv) > 5 else None)
