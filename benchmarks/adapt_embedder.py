"""Adapt all-MiniLM-L6-v2 to news without labels, to measure whether that would lift retrieval (an experiment).

    python benchmarks/adapt_embedder.py OUT_DIR [--corpus PATH ...] [--steps 150]
    RAG_STORE_PATH=/tmp/x/vectorstore RAG_EMBEDDING_MODEL=OUT_DIR python -m rag eval ../shared/eval/news-2025

Pairs come from articles only, never from questions: by default the BBC corpus (../shared/corpus/bbc,
2004-05, none of the evaluation sets' articles), or any files the loader reads (``--corpus``, e.g. a
library's own articles). A headline with a passage of its article, or a sentence with the rest of its
passage (the inverse cloze task), half each. The loss is in-batch negatives (MultipleNegativesRanking, both directions, scale
20), written in plain torch: sentence-transformers' trainer needs the ``datasets`` package, which the
product does not install. The adapted model is a folder any ``RAG_EMBEDDING_MODEL`` takes; a store built
with another model is refused, so evaluate it in its own store, as above. Results: docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentence_transformers import SentenceTransformer  # noqa: E402

from rag.chunking import split_sentences  # noqa: E402
from rag.embeddings import default_model_path  # noqa: E402
from rag.loaders import load_paths  # noqa: E402

BBC = ROOT.parent / "shared" / "corpus" / "bbc"


def articles(paths: list[Path]) -> list[tuple[str, list[str]]]:
    """(headline, paragraphs) of each article the loader reads, copies and repeated headlines once."""
    seen, out = set(), []
    for loaded in load_paths(paths):
        a = loaded.article
        if a is None or a.title in seen:
            continue
        paragraphs = [line.strip() for line in a.text.splitlines() if line.strip()]
        if len(paragraphs) >= 2:
            seen.add(a.title)
            out.append((a.title, paragraphs))
    return out


def passage(paragraphs: list[str], rng: random.Random, words: int = 140) -> str:
    """About ``words`` words of consecutive paragraphs from a random start: the size of one stored chunk."""
    i = rng.randrange(max(1, len(paragraphs) - 2))
    out: list[str] = []
    while i < len(paragraphs) and len(out) < words:
        out += paragraphs[i].split()
        i += 1
    return " ".join(out[: words + 20])


def pair(article: tuple[str, list[str]], rng: random.Random, cloze: float) -> tuple[str, str]:
    """A query and its positive: a sentence and the rest of its passage (headline in front), or the headline and a passage."""
    title, paragraphs = article
    text = passage(paragraphs, rng)
    sentences = [text[s:e] for s, e in split_sentences(text)]
    if rng.random() < cloze and len(sentences) >= 3:
        k = rng.randrange(len(sentences))
        rest = " ".join(sentences[:k] + sentences[k + 1:]) if rng.random() < 0.9 else text  # sometimes kept in
        return sentences[k], f"{title}\n{rest}"
    return title, text


def train(out: Path, corpus: list[Path], steps: int, batch: int, lr: float, cloze: float, seed: int) -> None:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    data = articles(corpus)
    if len(data) < 2:  # each pair's negatives are the batch's other articles
        sys.exit(f"{len(data)} article{'' if len(data) == 1 else 's'} with a headline and two paragraphs or more in "
                 f"{', '.join(map(str, corpus))}: training needs two or more")
    if len(data) < batch:  # one pair per article per batch, so a small library trains on smaller batches
        print(f"only {len(data)} articles: batches of {len(data)} pairs, not {batch}", file=sys.stderr)
    model = SentenceTransformer(default_model_path(), device="cpu")
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def embed(texts: list[str], max_length: int) -> torch.Tensor:
        """The model's own pipeline (mean pooling, normalised), with a length limit per side of the pair."""
        b = model.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return model(dict(b))["sentence_embedding"]

    order, at, t0 = list(range(len(data))), len(data), time.perf_counter()
    for step in range(steps):
        if at + batch > len(order):  # one pair per article per batch: no article is its own negative
            rng.shuffle(order)
            at = 0
        pairs = [pair(data[i], rng, cloze) for i in order[at:at + batch]]
        at += batch
        scores = embed([q for q, _ in pairs], 64) @ embed([d for _, d in pairs], 200).T * 20
        labels = torch.arange(len(pairs))
        loss = (F.cross_entropy(scores, labels) + F.cross_entropy(scores.T, labels)) / 2
        for group in optimiser.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 10)  # 10 steps of warm-up
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 10 == 0:
            print(f"step {step} loss {loss.item():.4f} {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    model.eval()
    model.save(str(out))
    print(json.dumps({"model": str(out), "articles": len(data), "steps": steps, "batch": batch, "lr": lr,
                      "cloze": cloze, "seconds": round(time.perf_counter() - t0, 1)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--corpus", type=Path, nargs="+", default=[BBC], help="files or folders of articles")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--cloze", type=float, default=0.5, help="share of sentence/rest-of-passage pairs")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 2)
    train(a.out, a.corpus, a.steps, a.batch, a.lr, a.cloze, a.seed)


if __name__ == "__main__":
    main()
