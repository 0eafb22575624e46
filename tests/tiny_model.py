"""A tiny chat model on disk for the training and export tests: the packaged embedding model's
tokenizer with a small chat template, and a randomly initialised two-layer Llama built from a config.

Why: training, masking, LoRA targets, adapters and generation are what the tests check, not what a
model knows; a config-built model needs no download and trains in seconds on a CPU.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] or '' }}"
    "{% for c in m.get('tool_calls') or [] %}<call>{{ c['function']['name'] }} {{ c['function']['arguments'] }}"
    "{% endfor %}[SEP]{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
LINEAR_LAYERS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}  # a Llama's


def chat_tokenizer():
    """The packaged MiniLM tokenizer with CHAT_TEMPLATE and [SEP] as the end of a turn."""
    import transformers

    from mining.embed import EmbeddingSettings

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(EmbeddingSettings().model_path), local_files_only=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.eos_token = "[SEP]"
    return tokenizer


def tiny_llama(tokenizer, layers: int = 1, hidden: int = 16):
    """A randomly initialised Llama sized for tests."""
    import transformers

    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                                      num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                                      max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id,
                                      eos_token_id=tokenizer.sep_token_id)
    return transformers.LlamaForCausalLM(config)


def save_tiny_chat_model(folder: Path, seed: int = 0) -> Path:
    """A model folder as a user would give it: config, weights, tokenizer with its chat template."""
    import torch

    torch.manual_seed(seed)
    tokenizer = chat_tokenizer()
    tiny_llama(tokenizer, layers=2, hidden=32).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
