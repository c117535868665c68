"""Quickstart: build a GPT-2 with IDInit, check what it holds, train it a little, reload it with stock transformers.

    python examples/quickstart.py

Runs offline on CPU in about half a minute, on CPython's own reference text (``pydoc_data.topics``).
"""

import tempfile
from pydoc_data.topics import topics

import torch
import transformers
from transformers import GPT2Config

import idinit_hf

torch.manual_seed(0)

# 1. A small byte-level GPT-2 whose config asks for IDInit. The options are plain config attributes.
config = GPT2Config(n_layer=4, n_embd=128, n_head=4, vocab_size=256, n_positions=128, bos_token_id=0,
                    eos_token_id=0, init_method="idinit", idinit_tau=1.0, idinit_epsilon=1e-6)
model = idinit_hf.AutoModelForCausalLM.from_config(config)

# 2. What every layer holds: role, rule, and whether the weights match the rule exactly.
report = idinit_hf.verify(model)
print(f"verify: {len(report.layers)} parameters checked, ok={report.ok}")
for role in (idinit_hf.Role.ATTENTION_IN, idinit_hf.Role.ATTENTION_OUT, idinit_hf.Role.MLP_IN, idinit_hf.Role.MLP_OUT):
    layer = report.by_role(role)[0]
    print(f"  {layer.name:40} {role.value:14} rule={layer.rule.value:5} matches={layer.matches}")

# 3. What the blocks do at init, on real text: identity maps up to ε, attention entropy.
text = "\n".join(topics[k] for k in sorted(topics)).encode("utf-8")
data = torch.tensor(list(text), dtype=torch.long)
batch = data[: 8 * 128].view(8, 128)
print("identity report at init (IDInit):")
print(idinit_hf.identity_report(model, {"input_ids": batch}))

# 4. Train 60 steps with AdamW, as one would pretrain from scratch.
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
model.train()
for step in range(60):
    start = torch.randint(0, len(data) - 129, (16,))
    ids = torch.stack([data[s : s + 128] for s in start.tolist()])
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad()
    if step % 20 == 0 or step == 59:
        print(f"step {step:3d}  loss {loss.item():.3f}")

# 5. Save, and reload with stock transformers alone: every weight bit-identical.
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)
    stock = transformers.AutoModelForCausalLM.from_pretrained(folder)
    same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), stock.state_dict().values(), strict=False))
    print(f"reloaded as stock {type(stock).__name__}: bit-identical={same}, init_method={stock.config.init_method!r}")
