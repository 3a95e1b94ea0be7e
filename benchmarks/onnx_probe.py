"""Is ONNX Runtime worth it for our model? Times torch against a local ONNX export on BBC chunks; prints JSON.

    pip install onnx==1.23.2          # the exporter needs it; onnxruntime comes with chromadb
    python benchmarks/onnx_probe.py --articles 80

sentence-transformers' own ``backend="onnx"`` needs optimum-onnx, which requires transformers < 4.58
(we pin 5.24), so this exports the packaged model folder with ``torch.onnx.export`` (no download)
into a scratch folder and runs it with the same tokenizer, mean pooling and normalisation.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def export(st_model, out: Path) -> None:
    import torch

    class _Hidden(torch.nn.Module):
        def __init__(self, model) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    enc = st_model.tokenizer(["an example sentence"], return_tensors="pt")
    torch.onnx.export(_Hidden(st_model[0].auto_model).eval(), tuple(enc[n] for n in names), str(out),
                      input_names=names, output_names=["hidden"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]})


def encode_onnx(session, tokenizer, texts: list[str], batch_size: int = 32) -> np.ndarray:
    order = np.argsort([-len(t) for t in texts])
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for i in range(0, len(texts), batch_size):
        idx = order[i:i + batch_size]
        b = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=256, return_tensors="np")
        feeds = {k: b[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = session.run(None, feeds)[0]
        mask = b["attention_mask"][..., None].astype(np.float32)
        v = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
        out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "bbc" / "business")
    ap.add_argument("--articles", type=int, default=80)
    args = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.chunking import chunk_article
    from rag.embeddings import get_embedder
    from rag.loaders import load_paths
    from rag.sentences import embed_text

    emb = get_embedder()
    articles = [i.article for i in load_paths([args.corpus], 20_000_000) if i.article][:args.articles]
    texts = [embed_text(a.title, c.text) for a in articles for c in chunk_article(a, emb.word_pieces(a.text), 200, 48)]
    emb.encode(texts[:4])  # warm up
    t = time.perf_counter()
    ref = emb.encode(texts)
    torch_s = time.perf_counter() - t

    result = {"chunks": len(texts), "torch_s": round(torch_s, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model-int8.onnx"
        export(emb.model, fp32)
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        for name, path in (("onnx_fp32", fp32), ("onnx_int8", int8)):
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            encode_onnx(session, emb.tokenizer, texts[:4])
            t = time.perf_counter()
            vecs = encode_onnx(session, emb.tokenizer, texts)
            seconds = time.perf_counter() - t
            result[name] = {"seconds": round(seconds, 2), "speedup_vs_torch": round(torch_s / seconds, 2),
                            "min_cosine_to_torch": round(float((vecs * ref).sum(1).min()), 6),
                            "max_abs_diff": float(np.abs(vecs - ref).max())}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
