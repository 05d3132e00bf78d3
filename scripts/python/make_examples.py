"""Makes the example models streamserve serves from Python, with the predictions Python made for fixed inputs.

    python3 -m venv .cache/pyenv && .cache/pyenv/bin/pip install -r scripts/python/requirements.txt
    .cache/pyenv/bin/python scripts/python/make_examples.py

Writes (each directory: the model, signature.json, python-predictions.json):
  weights/borehole-onnx/1.0.0/   the borehole regressor, a scikit-learn MLPRegressor exported with skl2onnx
  weights/borehole-npz/1.0.0/    the same network's weights saved with NumPy (np.savez), evaluated by NumPy
  weights/iris/1.0.0/            a scikit-learn classifier with string labels (label + probabilities, zipmap off)
  test/fixtures/models/iris-int/ the same classifier trained on integer labels
  test/fixtures/models/hang-onnx/ a borehole-shaped ONNX model whose native call does not return for some rows
Deterministic: seeded data, seeded training, no timestamps. Python is needed only to make these files.
"""
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import sklearn
import skl2onnx
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPRegressor

ROOT = Path(__file__).resolve().parents[2]
BOREHOLE_SIGNATURE = json.loads((ROOT / 'weights/borehole/signature.json').read_text())
VERSIONS = {'numpy': np.__version__, 'scikit-learn': sklearn.__version__, 'skl2onnx': skl2onnx.__version__,
            'onnx': onnx.__version__, 'onnxruntime': onnxruntime.__version__}
OPSET = 17


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + '\n')


def save_onnx(model: onnx.ModelProto, path: Path, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    model.graph.name = name  # skl2onnx names the graph with a random uuid
    model.producer_version = ''  # no build-specific strings: the same inputs give the same bytes
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


# ---- borehole: the function, its ranges and the scaling of weights/borehole/signature.json ----
RANGES = {c['field']: (c['min'], c['max']) for c in BOREHOLE_SIGNATURE['inputs']}


def borehole(x: dict) -> np.ndarray:
    log_ratio = np.log(x['r'] / x['rw'])
    denominator = log_ratio * (1 + 2 * x['L'] * x['Tu'] / (log_ratio * x['rw'] ** 2 * x['Kw']) + x['Tu'] / x['Tl'])
    return 2 * np.pi * x['Tu'] * (x['Hu'] - x['Hl']) / denominator


def scale_inputs(x: dict) -> np.ndarray:
    columns = []
    for c in BOREHOLE_SIGNATURE['inputs']:
        t = np.log(x[c['field']]) if c['transform'] == 'log' else x[c['field']]
        columns.append((t - c['center']) / c['scale'])
    return np.stack(columns, axis=1)


def unscale_output(z: np.ndarray) -> np.ndarray:
    o = BOREHOLE_SIGNATURE['outputs'][0]
    return np.exp(z * o['scale'] + o['center'])


def sample_borehole(n: int, seed: int, margin: float = 0.0) -> dict:
    """Uniform in each column's transformed space, widened by `margin` × half-width (as `streamserve train` does)."""
    rng = np.random.default_rng(seed)
    x = {}
    for c in BOREHOLE_SIGNATURE['inputs']:
        z = rng.uniform(-1 - margin, 1 + margin, n)
        t = c['center'] + c['scale'] * z
        x[c['field']] = np.exp(t) if c['transform'] == 'log' else t
    return x


def fixed_borehole_inputs() -> list:
    rng = np.random.default_rng(20261201)
    rows = []
    for i in range(64):
        row = {'id': f'py-{i:03d}'}
        for field, (lo, hi) in RANGES.items():
            row[field] = float(rng.uniform(lo, hi))
        rows.append(row)
    return rows


def borehole_signature(version: str, output_tensor: str | None, training: dict, activations=None) -> dict:
    signature = {k: v for k, v in BOREHOLE_SIGNATURE.items() if k != 'training'}
    signature['version'] = version
    output = dict(BOREHOLE_SIGNATURE['outputs'][0])
    if output_tensor is not None:
        signature['inputs'] = [{**c, 'tensor': 'input'} for c in signature['inputs']]
        output['tensor'] = output_tensor
    signature['outputs'] = [output]
    if activations is not None:
        signature['activations'] = activations
    signature['training'] = training
    return signature


def make_borehole() -> None:
    train = sample_borehole(20000, seed=42, margin=0.1)
    x = scale_inputs(train)
    y = (np.log(borehole(train)) - BOREHOLE_SIGNATURE['outputs'][0]['center']) / BOREHOLE_SIGNATURE['outputs'][0]['scale']
    mlp = MLPRegressor(hidden_layer_sizes=(64, 64), activation='tanh', solver='adam', learning_rate_init=0.003,
                       batch_size=256, max_iter=250, tol=1e-7, n_iter_no_change=30, random_state=0)
    mlp.fit(x, y)
    held = sample_borehole(10000, seed=4242)
    truth = borehole(held)
    ape = np.abs(unscale_output(mlp.predict(scale_inputs(held))) / truth - 1)
    training = {'library': f"scikit-learn {sklearn.__version__} MLPRegressor", 'architecture': '8-64-64-1 tanh',
                'samples': 20000, 'seed': 42, 'margin': 0.1, 'iterations': int(mlp.n_iter_),
                'heldoutSeed': 4242, 'heldoutSamples': 10000,
                'heldoutMape': round(float(ape.mean()), 6), 'heldoutMaxApe': round(float(ape.max()), 6)}
    print('borehole MLP', training)

    inputs = fixed_borehole_inputs()
    columns = {f: np.array([r[f] for r in inputs]) for f in RANGES}
    fixed = scale_inputs(columns)
    truth = borehole(columns)

    # ONNX, exported from scikit-learn. Python's predictions: scikit-learn's own (float64) and onnxruntime's (float32).
    onnx_dir = ROOT / 'weights/borehole-onnx/1.0.0'
    exported = convert_sklearn(mlp, initial_types=[('input', FloatTensorType([None, 8]))], target_opset=OPSET)
    save_onnx(exported, onnx_dir / 'model.onnx', 'borehole')
    session = onnxruntime.InferenceSession(str(onnx_dir / 'model.onnx'), providers=['CPUExecutionProvider'])
    output_name = session.get_outputs()[0].name
    ort_out = session.run(None, {'input': fixed.astype(np.float32)})[0].reshape(-1)
    write_json(onnx_dir / 'signature.json', borehole_signature('1.0.0-onnx', output_name, {**training, 'export': f'skl2onnx {skl2onnx.__version__}, opset {OPSET}'}))
    write_json(onnx_dir / 'python-predictions.json', {
        'made_with': VERSIONS, 'field': 'flow_rate',
        'inputs': inputs,
        'sklearn': [float(v) for v in unscale_output(mlp.predict(fixed))],
        'onnxruntime': [float(v) for v in unscale_output(ort_out.astype(np.float64))],
        'truth': [float(v) for v in truth],
    })

    # NumPy .npz: the same network's weights, one W<i> [inputs, units] and b<i> [units] per dense layer, in order.
    npz_dir = ROOT / 'weights/borehole-npz/1.0.0'
    npz_dir.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        arrays[f'W{i}'] = w.astype(np.float32)
        arrays[f'b{i}'] = b.astype(np.float32)
    np.savez(npz_dir / 'model.npz', **arrays)
    activations = ['tanh', 'tanh', 'identity']

    def numpy_forward(z: np.ndarray) -> np.ndarray:
        loaded = np.load(npz_dir / 'model.npz')
        a = z
        for i, act in enumerate(activations):
            a = a @ loaded[f'W{i}'].astype(np.float64) + loaded[f'b{i}'].astype(np.float64)
            a = np.tanh(a) if act == 'tanh' else a
        return a.reshape(-1)

    write_json(npz_dir / 'signature.json', borehole_signature('1.0.0-npz', None, {**training, 'export': f'np.savez, numpy {np.__version__}'}, activations))
    write_json(npz_dir / 'python-predictions.json', {
        'made_with': VERSIONS, 'field': 'flow_rate',
        'inputs': inputs,
        'numpy': [float(v) for v in unscale_output(numpy_forward(fixed))],
        'truth': [float(v) for v in truth],
    })


IRIS_FIELDS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']


def make_classifier(out: Path, name: str, labels: np.ndarray, classes: list) -> None:
    iris = load_iris()
    clf = LogisticRegression(max_iter=1000, random_state=0).fit(iris.data, labels)
    exported = convert_sklearn(clf, initial_types=[('input', FloatTensorType([None, 4]))], target_opset=OPSET,
                               options={LogisticRegression: {'zipmap': False}})
    save_onnx(exported, out / 'model.onnx', name)
    signature = {
        'name': name, 'version': '1.0.0', 'idField': 'id', 'eventTimeField': 'event_time',
        'inputs': [{'field': f, 'tensor': 'input', 'min': 0, 'max': 10} for f in IRIS_FIELDS],
        'outputs': [
            {'field': 'species', 'kind': 'label', 'tensor': 'label', 'classes': classes},
            {'field': 'probabilities', 'kind': 'probabilities', 'tensor': 'probabilities', 'classes': classes},
        ],
        'training': {'library': f'scikit-learn {sklearn.__version__} LogisticRegression', 'data': 'iris (sklearn.datasets.load_iris)',
                     'export': f'skl2onnx {skl2onnx.__version__}, opset {OPSET}, zipmap off'},
    }
    write_json(out / 'signature.json', signature)
    rows = iris.data[::3]  # 50 of the 150 rows, every species
    inputs = [{'id': f'iris-{i:03d}', **{f: float(v) for f, v in zip(IRIS_FIELDS, row)}} for i, row in enumerate(rows)]
    label = clf.predict(rows)
    write_json(out / 'python-predictions.json', {
        'made_with': VERSIONS,
        'inputs': inputs,
        'species': [x.item() for x in label],
        'probabilities': [[float(p) for p in ps] for ps in clf.predict_proba(rows)],
    })


def make_hang() -> None:
    """x [N, 8] → y [N, 1] = 0: a Loop runs max(relu(x[:, 0] - 0.9)) × 1e13 times first, so a row whose first scaled
    column is above 0.9 (rw above ≈ 0.147 m) keeps the native call busy for days; every other row answers at once."""
    body = helper.make_graph(
        [helper.make_node('Add', ['acc_in', 'one'], ['acc_out']), helper.make_node('Identity', ['cond_in'], ['cond_out'])],
        'body',
        [helper.make_tensor_value_info('i', TensorProto.INT64, []), helper.make_tensor_value_info('cond_in', TensorProto.BOOL, []),
         helper.make_tensor_value_info('acc_in', TensorProto.FLOAT, [])],
        [helper.make_tensor_value_info('cond_out', TensorProto.BOOL, []), helper.make_tensor_value_info('acc_out', TensorProto.FLOAT, [])],
        [helper.make_tensor('one', TensorProto.FLOAT, [], [1.0])])
    nodes = [
        helper.make_node('Slice', ['input', 'start', 'end', 'axis'], ['first']),
        helper.make_node('Sub', ['first', 'threshold'], ['over']),
        helper.make_node('Relu', ['over'], ['excess']),
        helper.make_node('ReduceMax', ['excess'], ['most'], keepdims=0),
        helper.make_node('Mul', ['most', 'big'], ['times']),
        helper.make_node('Cast', ['times'], ['trip'], to=TensorProto.INT64),
        helper.make_node('Loop', ['trip', 'true', 'zero'], ['count']),
        helper.make_node('Mul', ['first', 'zero'], ['zeros']),
        helper.make_node('Mul', ['count', 'zero'], ['nothing']),
        helper.make_node('Add', ['zeros', 'nothing'], ['output']),
    ]
    nodes[6].attribute.append(helper.make_attribute('body', body))
    constants = [
        helper.make_tensor('start', TensorProto.INT64, [1], [0]), helper.make_tensor('end', TensorProto.INT64, [1], [1]),
        helper.make_tensor('axis', TensorProto.INT64, [1], [1]), helper.make_tensor('threshold', TensorProto.FLOAT, [], [0.9]),
        helper.make_tensor('big', TensorProto.FLOAT, [], [1e13]), helper.make_tensor('true', TensorProto.BOOL, [], [True]),
        helper.make_tensor('zero', TensorProto.FLOAT, [], [0.0]),
    ]
    graph = helper.make_graph(nodes, 'hang', [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 8])],
                              [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 1])], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='streamserve make_examples.py')
    model.ir_version = 8
    out = ROOT / 'test/fixtures/models/hang-onnx'
    save_onnx(model, out / 'model.onnx', 'hang')
    signature = borehole_signature('hang', 'output', {'purpose': 'a native call that does not return (rw above 0.147 m)'})
    signature['name'] = 'borehole-hang'
    write_json(out / 'signature.json', signature)


if __name__ == '__main__':
    make_borehole()
    iris = load_iris()
    make_classifier(ROOT / 'weights/iris/1.0.0', 'iris', iris.target_names[iris.target], [str(n) for n in iris.target_names])
    make_classifier(ROOT / 'test/fixtures/models/iris-int', 'iris-int', iris.target, [0, 1, 2])
    make_hang()
