"""The classic model service streamserve replaces, as the Flask tutorials build it: POST /predict with one JSON input,
validated, scaled, one NumPy forward pass of the same weights (weights/borehole: the TensorFlow.js artefacts, read
here into NumPy arrays) and the same signature, answered as JSON. Run under Gunicorn with sync workers.

MODEL_DIR (default weights/borehole) points at the model directory.
"""
import json
import math
import os
import time

import numpy as np
from flask import Flask, jsonify, request

MODEL_DIR = os.environ.get("MODEL_DIR", "weights/borehole")


def load():
    with open(os.path.join(MODEL_DIR, "model.json")) as f:
        model = json.load(f)
    with open(os.path.join(MODEL_DIR, "signature.json")) as f:
        signature = json.load(f)
    arrays = {}
    for group in model["weightsManifest"]:
        data = b"".join(open(os.path.join(MODEL_DIR, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            arrays[w["name"]] = np.frombuffer(data, dtype=np.float32, count=count, offset=offset).reshape(w["shape"])
            offset += count * 4
    layers = []
    for layer in model["modelTopology"]["config"]["layers"]:
        c = layer["config"]
        layers.append((arrays[c["name"] + "/kernel"], arrays[c["name"] + "/bias"], c["activation"]))
    return signature, layers


SIGNATURE, LAYERS = load()
ACTIVATIONS = {"tanh": np.tanh, "linear": lambda x: x, "relu": lambda x: np.maximum(x, 0)}
app = Flask(__name__)


def forward(row):
    x = row
    for kernel, bias, activation in LAYERS:
        x = ACTIVATIONS[activation](x @ kernel + bias)
    return x


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error={"code": "BAD_REQUEST", "message": "the body must be a JSON object"}), 400
    row = np.empty((1, len(SIGNATURE["inputs"])), dtype=np.float32)
    for i, column in enumerate(SIGNATURE["inputs"]):
        value = body.get(column["field"])
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return jsonify(error={"code": "MISSING_FIELD", "message": f"field {column['field']} is required"}), 422
        if ("min" in column and value < column["min"]) or ("max" in column and value > column["max"]):
            return jsonify(error={"code": "OUT_OF_RANGE", "message": f"field {column['field']} is out of range"}), 422
        t = math.log(value) if column.get("transform") == "log" else value
        row[0, i] = (t - column.get("center", 0)) / column.get("scale", 1)
    out = forward(row)[0]
    answer = {"id": body.get("id", ""), "model_name": SIGNATURE["name"], "model_version": SIGNATURE["version"]}
    for i, column in enumerate(SIGNATURE["outputs"]):
        v = float(out[i]) * column.get("scale", 1) + column.get("center", 0)
        answer[column["field"]] = math.exp(v) if column.get("transform") == "log" else v
    answer["event_time"] = body.get("event_time", int(time.time() * 1000))
    return jsonify(answer)
