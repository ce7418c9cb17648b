"""A Triton python-backend stand-in: serves any signature from its config.pbtxt.

For every request it returns zero-filled outputs of the declared shape (``-1`` dims become 1,
the batch dim follows the first input's). Config parameters (all optional):
  ``sleep_ms``     - work time per execution;
  ``per_item_ms``  - extra work time per request in the batch (a batch costs more);
  ``device_lock``  - path of a lock file that every stand-in on the server holds while it
                     works, so executions serialize the way they do on one GPU;
  ``cold_start_ms`` - extra time the first execution takes (lazy initialisation, as a real
                     framework pays it on its first run);
  ``execution_log`` - path of a file that gets one JSON line per execution: the model,
                     version, the first input's shape in each request it ran together
                     and the time (warm-up executions included).
Copied into ``<repository>/<model>/<version>/model.py`` by :mod:`.repository`.
"""

import fcntl
import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.sleep = float(params.get("sleep_ms", "0")) / 1000.0
        self.per_item = float(params.get("per_item_ms", "0")) / 1000.0
        self.lock_path = params.get("device_lock")
        self.cold = float(params.get("cold_start_ms", "0")) / 1000.0
        self.log_path = params.get("execution_log")
        self.model = args["model_name"]
        self.version = args["model_version"]
        self.batching = config.get("max_batch_size", 0) > 0
        self.outputs = []
        for out in config["output"]:
            dtype = pb_utils.triton_string_to_numpy(out["data_type"])
            dims = [1 if d == -1 else int(d) for d in out["dims"]]
            self.outputs.append((out["name"], dtype, dims))
        self.first_input = config["input"][0]["name"]

    def _work(self, seconds):
        if seconds <= 0:
            return
        if self.lock_path:
            with open(self.lock_path, "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    time.sleep(seconds)
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
        else:
            time.sleep(seconds)

    def execute(self, requests):
        self._work(self.sleep + self.per_item * len(requests) + self.cold)
        self.cold = 0.0
        responses = []
        shapes = []
        for request in requests:
            tensor = pb_utils.get_input_tensor_by_name(request, self.first_input)
            batch = tensor.as_numpy().shape[0] if self.batching else None
            shapes.append(list(tensor.as_numpy().shape))
            outs = []
            for name, dtype, dims in self.outputs:
                shape = [batch, *dims] if batch is not None else dims
                if dtype == np.object_:
                    data = np.full(shape, b"", dtype=np.object_)
                else:
                    data = np.zeros(shape, dtype=dtype)
                outs.append(pb_utils.Tensor(name, data))
            responses.append(pb_utils.InferenceResponse(output_tensors=outs))
        if self.log_path:
            entry = {
                "model": self.model,
                "version": self.version,
                "shapes": shapes,
                "time": time.time(),
            }
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps(entry) + "\n")
        return responses
