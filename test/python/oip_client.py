"""Drives streamserve's Open Inference Protocol with Triton's own HTTP client (tritonclient[http]).

usage: oip_client.py HOST:PORT MODEL ROWS_JSON
ROWS_JSON: a JSON list of objects, each with the model's input fields. Prints one JSON object: what the server said
to each call (health, metadata, the inference's outputs as numpy read them), and the error a binary request got.
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

url, model, rows_json = sys.argv[1], sys.argv[2], sys.argv[3]
rows = json.loads(rows_json)
client = httpclient.InferenceServerClient(url=url)
out = {
    "live": client.is_server_live(),
    "ready": client.is_server_ready(),
    "model_ready": client.is_model_ready(model),
    "server": client.get_server_metadata(),
    "metadata": client.get_model_metadata(model),
}
version = out["metadata"]["versions"][0]
out["model_ready_versioned"] = client.is_model_ready(model, model_version=version)


def tensors(binary):
    inputs = []
    for spec in out["metadata"]["inputs"]:
        column = np.array([row[spec["name"]] for row in rows], dtype=np.float64)
        tensor = httpclient.InferInput(spec["name"], [len(rows)], "FP64")
        tensor.set_data_from_numpy(column, binary_data=binary)
        inputs.append(tensor)
    return inputs


result = client.infer(model, tensors(False), request_id="oip-1")
out["infer"] = {
    "model_name": result.get_response()["model_name"],
    "model_version": result.get_response()["model_version"],
    "id": result.get_response()["id"],
    "outputs": {o["name"]: result.as_numpy(o["name"]).tolist() for o in out["metadata"]["outputs"]},
}
versioned = client.infer(model, tensors(False), model_version=version, outputs=[httpclient.InferRequestedOutput(out["metadata"]["outputs"][0]["name"], binary_data=False)])
out["infer_versioned"] = versioned.as_numpy(out["metadata"]["outputs"][0]["name"]).tolist()
try:
    client.infer(model, tensors(True))
    out["binary_error"] = None
except InferenceServerException as e:
    out["binary_error"] = {"status": e.status(), "message": e.message()}
try:
    client.get_model_metadata("no-such-model")
    out["unknown_model_error"] = None
except InferenceServerException as e:
    out["unknown_model_error"] = {"status": e.status(), "message": e.message()}
print(json.dumps(out))
