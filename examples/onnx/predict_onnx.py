# Runs an ONNX model exported by `ealstm export --format onnx` on basin 01022500 of the bundled demo data for
# 01-05/11/2001 (any model trained on CAMELS-US daymet inputs and CAMELS attributes: the names come from the model).
# Usage, from the repository root: python3 examples/onnx/predict_onnx.py MODEL.onnx   (needs numpy and onnxruntime)
import glob
import json
import sys

import numpy as np
import onnxruntime as ort

CAMELS = "data/demo/camels_us"
BASIN = "01022500"

session = ort.InferenceSession(sys.argv[1])
meta = session.get_modelmeta().custom_metadata_map
seq = int(meta["seq_length"])
dynamic_inputs = json.loads(meta["dynamic_inputs"])
static_attributes = json.loads(meta["static_attributes"])
print(meta["model"], "seq_length", seq, dynamic_inputs, static_attributes)

# Forcing: 3 header lines, then a column-name line, then one row a day (Year Mnth Day Hr dayl(s) prcp(mm/day) ...).
path = glob.glob(f"{CAMELS}/basin_mean_forcing/daymet/*/{BASIN}_lump_cida_forcing_leap.txt")[0]
with open(path) as f:
    columns = f.readlines()[3].split()
forcing = np.loadtxt(path, skiprows=4)
inputs = forcing[:, [columns.index(name) for name in dynamic_inputs]].astype(np.float32)
day = np.flatnonzero((forcing[:, 0] == 2001) & (forcing[:, 1] == 11) & (forcing[:, 2] == 1))[0]
n = 5
x_d = np.stack([inputs[t - seq + 1 : t + 1] for t in range(day, day + n)])  # [n, seq, D]: the seq days ending on each day

# Attributes: the camels_*.txt tables (';'-separated, gauge_id first).
attributes = {}
for table in glob.glob(f"{CAMELS}/camels_attributes_v2.0/camels_*.txt"):
    with open(table) as f:
        header, *rows = [line.rstrip("\n").split(";") for line in f]
    row = next(r for r in rows if r[0] == BASIN)
    attributes.update(zip(header, row))
feeds = {"x_d": x_d}
if static_attributes:
    feeds["x_s"] = np.tile(np.array([float(attributes[a]) for a in static_attributes], np.float32), (n, 1))  # [n, S]
(q,) = session.run(["q"], feeds)
print("q (mm/day), 01-05/11/2001:", q)
