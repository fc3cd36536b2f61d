"""The zanj 0.6 README's model example, verbatim but for the imports (used by test_torch.py)."""

from __future__ import annotations

import torch
from muutils.json_serialize import SerializableDataclass, serializable_dataclass, serializable_field
from zanj_torch import ConfiguredModel, set_config_class

from zanj_core import ZANJ  # noqa: F401  # the README imports it alongside


@serializable_dataclass
class MyNNConfig(SerializableDataclass):
    input_dim: int
    hidden_dim: int
    output_dim: int

    # store the activation function by name, reconstruct it by looking it up in torch.nn
    act_fn: torch.nn.Module = serializable_field(
        serialization_fn=lambda x: x.__name__,
        loading_fn=lambda x: getattr(torch.nn, x["act_fn"]),
    )

    # same for the loss function
    loss_kwargs: dict = serializable_field(default_factory=dict)
    loss_factory: torch.nn.modules.loss._Loss = serializable_field(
        default_factory=lambda: torch.nn.CrossEntropyLoss,
        serialization_fn=lambda x: x.__name__,
        loading_fn=lambda x: getattr(torch.nn, x["loss_factory"]),
    )
    loss = property(lambda self: self.loss_factory(**self.loss_kwargs))


@set_config_class(MyNNConfig)
class MyNN(ConfiguredModel[MyNNConfig]):
    def __init__(self, config: MyNNConfig):
        # call the superclass init!
        # this will store the model in the zanj_model_config field
        super().__init__(config)

        # whatever you want here
        self.net = torch.nn.Sequential(
            torch.nn.Linear(config.input_dim, config.hidden_dim),
            config.act_fn(),
            torch.nn.Linear(config.hidden_dim, config.output_dim),
        )

    def forward(self, x):
        return self.net(x)


@serializable_dataclass
class TiedConfig(SerializableDataclass):
    vocab: int
    dim: int


@set_config_class(TiedConfig)
class TiedLM(ConfiguredModel[TiedConfig]):
    """Input embedding and output projection share one weight, as in GPT-2."""

    def __init__(self, config: TiedConfig):
        super().__init__(config)
        self.embed = torch.nn.Embedding(config.vocab, config.dim)
        self.head = torch.nn.Linear(config.dim, config.vocab, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("positions", torch.arange(16, dtype=torch.int64))
