"""The shared LLM runtimes' adapter sync: ``python -m tenantry.llmadapters``, the
``adapter-sync`` container of each shared base model's pod (docs/llm.md "Changes").

It makes the adapters directory of the pod (an emptyDir that vLLM's filesystem LoRA resolver
reads, ``VLLM_LORA_RESOLVER_CACHE_DIR``) hold exactly the adapters of the mounted ConfigMap
``tenantry-llm-<base>-adapters`` (:func:`tenantry.k8s.llm_inference_service.runtime_adapters`),
each under its runtime name ``<served name>--<digest hex>``, read from the tenant's bucket with
the pod's role (granted prefixes only) and published only when its files have the declared
digest (:mod:`tenantry.artifacts`, the same walk as ``tenantry digest``); a retired version is
unloaded from vLLM (its own port, over the pod's loopback) before its files are deleted. The
ConfigMap volume is updated in place by the kubelet, so no adapter change restarts the runtime.
"""
