"""transformers' own GGUF loading, as the reference for test/integration/cli/ggufParity.test.ts.

usage: gguf_reference.py REQUEST.json RESULT.json

The request names the GGUF file, the Hugging Face folder `aligner convert --to hf` wrote from it, texts
to tokenize and prompts to continue greedily. The result holds, per text, the ids from transformers'
GGUF tokenizer (`hf`), from the same tokenizer with the digit split the file's tokenizer.ggml.pre asks
for put back (`hf_file_pre`; transformers drops it for e.g. "smollm"), and from the tokenizers library
on our tokenizer.json (`ours_py`); per prompt, those ids and the greedy continuation of `hf_file_pre`;
and how many of our fp32 tensors differ from transformers' dequantized ones, bit for bit.
"""

import json
import os
import sys

import numpy as np
import torch
from gguf import GGUFReader
from safetensors.numpy import load_file
from tokenizers import Regex, Tokenizer, pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer

# llama.cpp's pre-tokenizers that split every digit before GPT-2's regex (llama-vocab.cpp)
DIGIT_SPLIT_PRES = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}


def main() -> None:
    request = json.load(open(sys.argv[1]))
    gguf = request["gguf"]
    folder, name = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
    torch.set_num_threads(int(os.environ.get("REFERENCE_THREADS", "2")))

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    fixed = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    pre_field = GGUFReader(gguf).fields.get("tokenizer.ggml.pre")
    pre = bytes(pre_field.parts[pre_field.data[0]]).decode() if pre_field else "default"
    if pre in DIGIT_SPLIT_PRES:
        fixed.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
            ]
        )
    ours = Tokenizer.from_file(os.path.join(request["hf_dir"], "tokenizer.json"))

    def ids(text: str) -> dict:
        return {
            "hf": tokenizer(text)["input_ids"],
            "hf_file_pre": fixed.encode(text).ids,
            "ours_py": ours.encode(text).ids,
        }

    result = {"pre": pre, "texts": [ids(t) for t in request["texts"]], "prompts": []}

    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    ours_weights = load_file(os.path.join(request["hf_dir"], "model.safetensors"))
    state = model.state_dict()
    differing = [
        k for k, v in ours_weights.items() if not np.array_equal(v.view(np.uint32), state[k].numpy().view(np.uint32))
    ]
    result["weights"] = {"compared": len(ours_weights), "differing": differing}

    eos = model.generation_config.eos_token_id
    for prompt in request["prompts"]:
        entry = ids(prompt)
        input_ids = torch.tensor([entry["hf_file_pre"]])
        with torch.no_grad():
            out = model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=request["max_new_tokens"],
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=eos if isinstance(eos, int) else eos[0],
            )
        entry["generated"] = out[0, input_ids.shape[1] :].tolist()
        result["prompts"].append(entry)
    json.dump(result, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
