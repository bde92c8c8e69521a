#!/usr/bin/env python3
"""Exports Medlight's shipped model to ONNX for the transformers.js peer in the browser benchmark.

The peer must run *the same fine-tuned weights*: this reads public/models/medlight-q8_0.safetensors,
dequantises it (the weights the app itself computes with), writes a BertForTokenClassification
graph in plain ONNX ops (no PyTorch needed), checks it against the f32 reference below on real
sentences, then quantises it the way transformers.js models are shipped: ONNX Runtime's dynamic
int8 quantisation (`onnx/model_quantized.onnx`). Development dependency only:
`pip install onnx onnxruntime gguf tokenizers numpy`.

Usage: export_onnx.py <model.gguf> <tokenizer.json> <out dir>
"""
import json
import shutil
import sys
from pathlib import Path

import gguf
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

OPSET = 17  # LayerNormalization is a standard op from 17 on


def read_gguf(path):
    reader = gguf.GGUFReader(path)
    field = reader.fields["medlight.config"]
    config = json.loads(bytes(field.parts[field.data[0]]).decode())
    weights = {}
    for t in reader.tensors:
        # GGUF lists dimensions innermost first; numpy wants them outermost first.
        shape = tuple(int(d) for d in reversed(t.shape))
        weights[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
    return config, weights


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, **attrs):
        self.count += 1
        out = f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, w, name):
        """x · Wᵀ + b with W stored (out, in) as in Hugging Face checkpoints."""
        weight = self.const(f"{name}.weight_t", np.ascontiguousarray(w[f"{name}.weight"].T))
        return self.op("Add", [self.op("MatMul", [x, weight]), self.const(f"{name}.bias", w[f"{name}.bias"])])

    def layer_norm(self, x, w, name, eps):
        return self.op("LayerNormalization", [x, self.const(f"{name}.weight", w[f"{name}.weight"]),
                                              self.const(f"{name}.bias", w[f"{name}.bias"])], axis=-1, epsilon=eps)


def build(config, w):
    g = Graph()
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_dim, eps = hidden // heads, config["layer_norm_eps"]
    assert config["hidden_act"] == "gelu", "only erf GELU is exported"
    e = "bert.embeddings"
    ids = g.op("Gather", [g.const(f"{e}.word_embeddings.weight", w[f"{e}.word_embeddings.weight"]), "input_ids"])
    length = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const("one", np.array(1, np.int64))], axis=0)
    positions = g.op("Range", [g.const("zero", np.array(0, np.int64)), length, "one"])
    pos = g.op("Gather", [g.const(f"{e}.position_embeddings.weight", w[f"{e}.position_embeddings.weight"]), positions])
    types = g.op("Gather", [g.const(f"{e}.token_type_embeddings.weight", w[f"{e}.token_type_embeddings.weight"]), "token_type_ids"])
    x = g.layer_norm(g.op("Add", [g.op("Add", [ids, pos]), types]), w, f"{e}.LayerNorm", eps)
    # 0 where attended, -10⁴ at padding, shaped (batch, 1, 1, len) to broadcast over heads and queries.
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    bias = g.op("Mul", [g.op("Sub", [g.const("f_one", np.array(1, np.float32)), mask]), g.const("neg", np.array(-10000, np.float32))])
    bias = g.op("Unsqueeze", [bias, g.const("axes_12", np.array([1, 2], np.int64))])
    split = g.const("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge = g.const("merge_shape", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1 / np.sqrt(head_dim), np.float32))
    sqrt2 = g.const("sqrt2", np.array(np.sqrt(2), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    for i in range(config["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}"
        def heads_of(t, perm):
            return g.op("Transpose", [g.op("Reshape", [t, split])], perm=perm)
        q = heads_of(g.linear(x, w, f"{p}.attention.self.query"), [0, 2, 1, 3])
        k = heads_of(g.linear(x, w, f"{p}.attention.self.key"), [0, 2, 3, 1])
        v = heads_of(g.linear(x, w, f"{p}.attention.self.value"), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge])
        attended = g.linear(context, w, f"{p}.attention.output.dense")
        x = g.layer_norm(g.op("Add", [attended, x]), w, f"{p}.attention.output.LayerNorm", eps)
        inner = g.linear(x, w, f"{p}.intermediate.dense")
        gelu = g.op("Mul", [g.op("Mul", [inner, half]), g.op("Add", [g.op("Erf", [g.op("Div", [inner, sqrt2])]), "f_one"])])
        out = g.linear(gelu, w, f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", [out, x]), w, f"{p}.output.LayerNorm", eps)
    logits = g.linear(x, w, "classifier")
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    int_input = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch_size", "sequence_length"])
    graph = helper.make_graph(
        g.nodes, "medlight", [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", len(config["id2label"])])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="medlight-bench",
                              ir_version=9)  # ONNX Runtime Web reads IR versions up to 13
    onnx.checker.check_model(model)
    return model


def reference_logits(config, w, ids):
    """The same network in numpy, f32: what the ONNX graph must reproduce."""
    def ln(x, name):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + config["layer_norm_eps"]) * w[f"{name}.weight"] + w[f"{name}.bias"]
    def lin(x, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]
    from math import erf
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))), otypes=[np.float32])
    e, heads = "bert.embeddings", config["num_attention_heads"]
    x = w[f"{e}.word_embeddings.weight"][ids] + w[f"{e}.position_embeddings.weight"][: len(ids)] + w[f"{e}.token_type_embeddings.weight"][0]
    x = ln(x, f"{e}.LayerNorm")
    for i in range(config["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}"
        split = lambda t: t.reshape(len(ids), heads, -1).transpose(1, 0, 2)
        q, k, v = (split(lin(x, f"{p}.attention.self.{n}")) for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(len(ids), -1)
        x = ln(lin(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        x = ln(lin(gelu(lin(x, f"{p}.intermediate.dense")), f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    return lin(x, "classifier")


def check(model_path, config, w, tokenizer_path, sentences):
    import onnxruntime as ort
    from tokenizers import Tokenizer
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    worst = 0.0
    for text in sentences:
        ids = np.array([tokenizer.encode(text).ids], np.int64)
        got = session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})[0][0]
        want = reference_logits(config, w, ids[0])
        worst = max(worst, float(np.abs(got - want).max()))
        if (got.argmax(-1) != want.argmax(-1)).any():
            sys.exit(f"ONNX export disagrees with the reference on the tags of: {text!r}")
    print(f"export check: {len(sentences)} sentences, largest logit difference {worst:.2e}, same tags", file=sys.stderr)


def main():
    gguf_path, tokenizer_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    config, weights = read_gguf(gguf_path)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    f32_path, q8_path = out / "onnx" / "model.onnx", out / "onnx" / "model_quantized.onnx"
    onnx.save(build(config, weights), f32_path)
    check(f32_path, config, weights, tokenizer_path, [
        "Naloxone reverses the antihypertensive effect of clonidine.",
        "Cocaine-induced myocardial infarction in a patient with no risk factors.",
        "The patient developed acute renal failure after cisplatin therapy for ovarian cancer.",
    ])
    # What transformers.js ships: per-tensor dynamic quantisation, int8 weights (MatMul and Gather).
    quantize_dynamic(f32_path, q8_path, weight_type=QuantType.QInt8)
    shutil.copy(tokenizer_path, out / "tokenizer.json")
    (out / "config.json").write_text(json.dumps(config, indent=2))
    # The tokenizer settings transformers.js reads beside tokenizer.json (the base is uncased BERT).
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": config["max_position_embeddings"],
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]", "mask_token": "[MASK]",
    }, indent=2))
    f32_path.unlink()  # only the quantised model is benchmarked
    print(f"wrote {q8_path} ({q8_path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
