"""A Triton (KServe v2 protocol) endpoint over tritonclient, HTTP or gRPC, with every client
failure turned into :class:`EndpointError` (a message, never a traceback)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

Protocol_ = Literal["http", "grpc"]
Array = np.ndarray[Any, np.dtype[Any]]


class EndpointError(Exception):
    """The server could not be reached, timed out, or refused the request."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str  # v2 protocol name: FP32, INT64, BYTES, ...
    shape: tuple[int, ...]


class Endpoint(Protocol):
    def live(self) -> bool: ...
    def ready(self) -> bool: ...
    def model_ready(self, model: str, version: str) -> bool: ...
    def metadata(self, model: str, version: str) -> tuple[list[TensorSpec], list[TensorSpec]]: ...
    def config(self, model: str, version: str) -> dict[str, Any]: ...
    def statistics(self, model: str, version: str) -> dict[str, Any]:
        """Triton's statistics of one model version (``model_stats[0]`` of the v2
        statistics extension: execution counts, batch_stats, memory_usage)."""
        ...

    def device_memory(self) -> tuple[int, int] | None:
        """(used, total) bytes of the device the server runs on, from Triton's GPU metrics
        (``nv_gpu_memory_used_bytes`` / ``nv_gpu_memory_total_bytes``); None when the
        server exports none or no metrics URL was given."""
        ...

    def infer(
        self,
        model: str,
        version: str,
        inputs: Sequence[tuple[TensorSpec, Array]],
        outputs: Sequence[str],
    ) -> dict[str, tuple[int, ...]]: ...


class TritonEndpoint:
    """tritonclient behind :class:`Endpoint`. ``url`` is ``host:port`` (no scheme)."""

    def __init__(
        self,
        url: str,
        protocol: Protocol_ = "http",
        token: str | None = None,
        timeout_s: float = 10.0,
        metrics_url: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.timeout_s = timeout_s
        self.metrics_url = metrics_url
        url = url.removeprefix("http://").removeprefix("https://").removeprefix("grpc://")
        self.headers: dict[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            if protocol == "http":
                import tritonclient.http as http

                self._mod: Any = http
                self._client: Any = http.InferenceServerClient(
                    url, connection_timeout=timeout_s, network_timeout=timeout_s
                )
            else:
                import tritonclient.grpc as grpc

                self._mod = grpc
                self._client = grpc.InferenceServerClient(url)
        except Exception as exc:  # tritonclient raises several unrelated types here
            raise EndpointError(f"cannot create a {protocol} client for {url}: {exc}") from exc

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if self.protocol == "grpc":
            kwargs.setdefault("client_timeout", self.timeout_s)
        try:
            return fn(*args, headers=self.headers or None, **kwargs)
        except Exception as exc:  # InferenceServerException, socket errors, gevent timeouts
            text = str(exc).strip() or type(exc).__name__
            raise EndpointError(f"{what}: {text}") from exc

    def live(self) -> bool:
        return bool(self._call("server live", self._client.is_server_live))

    def ready(self) -> bool:
        return bool(self._call("server ready", self._client.is_server_ready))

    def model_ready(self, model: str, version: str) -> bool:
        return bool(
            self._call(
                f"model {model} v{version} ready", self._client.is_model_ready, model, version
            )
        )

    def metadata(self, model: str, version: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
        if self.protocol == "grpc":
            md = self._call(
                "metadata", self._client.get_model_metadata, model, version, as_json=True
            )
        else:
            md = self._call("metadata", self._client.get_model_metadata, model, version)

        def specs(items: list[Mapping[str, Any]]) -> list[TensorSpec]:
            return [
                TensorSpec(t["name"], t["datatype"], tuple(int(d) for d in t["shape"]))
                for t in items
            ]

        return specs(md.get("inputs", [])), specs(md.get("outputs", []))

    def config(self, model: str, version: str) -> dict[str, Any]:
        if self.protocol == "grpc":
            cfg = self._call("config", self._client.get_model_config, model, version, as_json=True)
            return dict(cfg.get("config", cfg))
        return dict(self._call("config", self._client.get_model_config, model, version))

    def statistics(self, model: str, version: str) -> dict[str, Any]:
        fn = self._client.get_inference_statistics
        if self.protocol == "grpc":
            stats = self._call("statistics", fn, model, version, as_json=True)
        else:
            stats = self._call("statistics", fn, model, version)
        found = [s for s in stats.get("model_stats", []) if str(s.get("version")) in (version, "")]
        if not found:
            raise EndpointError(f"statistics: no statistics for {model} v{version}")
        return dict(found[0])

    def device_memory(self) -> tuple[int, int] | None:
        if not self.metrics_url:
            return None
        import urllib.request

        url = self.metrics_url if "://" in self.metrics_url else f"http://{self.metrics_url}"
        url = url.rstrip("/") + ("" if url.rstrip("/").endswith("/metrics") else "/metrics")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                text = resp.read().decode("utf-8", "replace")
        except OSError as exc:
            raise EndpointError(f"metrics {url}: {exc}") from exc
        return device_memory_from_metrics(text)

    def infer(
        self,
        model: str,
        version: str,
        inputs: Sequence[tuple[TensorSpec, Array]],
        outputs: Sequence[str],
    ) -> dict[str, tuple[int, ...]]:
        tensors = []
        for spec, data in inputs:
            t = self._mod.InferInput(spec.name, list(data.shape), spec.datatype)
            if self.protocol == "http":
                t.set_data_from_numpy(data, binary_data=True)
            else:
                t.set_data_from_numpy(data)
            tensors.append(t)
        requested = [self._mod.InferRequestedOutput(n) for n in outputs]
        result = self._call(
            f"infer {model} v{version}",
            self._client.infer,
            model,
            tensors,
            model_version=version,
            outputs=requested,
        )
        shapes = {}
        for name in outputs:
            array = result.as_numpy(name)
            if array is None:
                raise EndpointError(f"infer {model} v{version}: no output {name!r} in the reply")
            shapes[name] = tuple(array.shape)
        return shapes


def device_memory_from_metrics(text: str) -> tuple[int, int] | None:
    """Sum of ``nv_gpu_memory_used_bytes`` and of ``nv_gpu_memory_total_bytes`` over the
    devices in Triton's Prometheus text (a pod holding one MIG slice sees one device);
    None when the server exports no GPU memory metrics (no GPU, or GPU metrics off)."""
    sums = {"nv_gpu_memory_used_bytes": 0.0, "nv_gpu_memory_total_bytes": 0.0}
    seen = False
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in sums:
                    sums[sample.name] += sample.value
                    seen = True
    except ValueError as exc:
        raise EndpointError(f"metrics: not Prometheus text format ({exc})") from exc
    if not seen:
        return None
    return int(sums["nv_gpu_memory_used_bytes"]), int(sums["nv_gpu_memory_total_bytes"])
