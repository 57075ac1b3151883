import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import Linear as L, Conv2d


class Base(nn.Module):
    def __init__(self, d):
        super(Base, self).__init__()
        self.fc = L(d, d)

    def forward(self, x, *args, **kwargs):
        return self.fc(x)


class Child(Base):
    def __init__(self, d, **kw):
        super().__init__(d)
        self.conv = Conv2d(3, 3, 3, padding=1, padding_mode='reflect')
        self.register_buffer('steps', torch.zeros(()), persistent=False)
        self.w = nn.Parameter(torch.randn(d, d) * 0.02)

    def forward(self, x):
        y = super().forward(x)
        y.add_(1)
        y[0] = 3
        y[:, 1] += 2
        if self.training:
            y = F.dropout(y, 0.1, self.training)
        nn = lambda t: t
        return nn(y @ self.w).cuda()


def make(d=4):
    m = Child(d)
    return m


@torch.no_grad()
def evaluate(model, x):
    model.eval()
    return model(x).argmax(dim=-1)


torch.manual_seed(0)
model = make()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
