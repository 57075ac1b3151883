import torch.nn as nn


class BasicBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc = nn.Linear(c, c)

    def forward(self, x):
        return self.fc(x)


class Bottleneck(BasicBlock):
    pass


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def make(cls, *args, **kwargs):
    return cls(*args, **kwargs)


class Net(nn.Module):
    def __init__(self, c, block=BasicBlock, kind="basic", depth=2):
        super().__init__()
        self.block = block
        self.first = self.block(c)
        self.choices = [BasicBlock, Bottleneck]
        self.second = self.choices[1](c)
        self.third = BLOCKS[kind](c)
        self.fourth = make(BasicBlock, c)
        self.layers = nn.ModuleList([block(c) for _ in range(depth)])

    def forward(self, x):
        return self.third(self.second(self.first(x)))
