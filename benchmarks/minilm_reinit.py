"""Write a copy of the bundled all-MiniLM-L6-v2 with its top N encoder layers re-initialised.

Usage::

    python benchmarks/minilm_reinit.py 1 /tmp/minilm_reinit1
    python benchmarks/transformer_sst2.py finetune \
        --set model.transformer.pretrained=/tmp/minilm_reinit1

Re-initialising the top layers before fine-tuning ("Revisiting Few-sample BERT Fine-tuning",
Zhang et al., 2021) discards what they learnt in pre-training; for all-MiniLM-L6-v2 that is
the sentence-similarity training nearest its output. BERT's initialisation: linear weights
N(0, initializer_range), biases 0, LayerNorm scale 1 and shift 0 (seed 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModel

from launchml.models.hf_encoder import resolve_pretrained


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layers", type=int, help="how many of the top encoder layers")
    parser.add_argument("out", type=Path, help="the new model directory (replaced)")
    args = parser.parse_args()
    source = resolve_pretrained("minilm")
    shutil.rmtree(args.out, ignore_errors=True)
    shutil.copytree(source, args.out)  # tokenizer and config files as they are
    model = AutoModel.from_pretrained(str(source), local_files_only=True)
    std = model.config.initializer_range
    torch.manual_seed(0)
    with torch.no_grad():
        for block in model.encoder.layer[-args.layers :]:
            for module in block.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.normal_(0.0, std)
                    module.bias.zero_()
                elif isinstance(module, torch.nn.LayerNorm):
                    module.weight.fill_(1.0)
                    module.bias.zero_()
    model.save_pretrained(str(args.out), safe_serialization=True)
    print(args.out)


if __name__ == "__main__":
    main()
