# A deliberately broken translation (see tests/test_verify_behavioral.py): verify must fail on it.
"""Train a small CNN classifier with SGD + momentum, then measure accuracy (the CIFAR-10 tutorial loop)."""

import functools
import jax
import jax.numpy as jnp
import optax
from flax import nnx


class Net(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(3, 6, (5, 5), padding=0, rngs=rngs)
        self.pool = functools.partial(nnx.max_pool, window_shape=(2, 2), strides=(2, 2))
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding=0, rngs=rngs)
        self.fc1 = nnx.Linear(16 * 5 * 5, 120, rngs=rngs)
        self.fc2 = nnx.Linear(120, 84, rngs=rngs)
        self.fc3 = nnx.Linear(84, 10, rngs=rngs)

    def __call__(self, x):
        x = jnp.transpose(self.pool(jax.nn.relu(self.conv1(jnp.transpose(x, (0, 2, 3, 1))))), (0, 3, 1, 2))
        x = jnp.transpose(self.pool(jax.nn.relu(self.conv2(jnp.transpose(x, (0, 2, 3, 1))))), (0, 3, 1, 2))
        x = x.reshape(x.shape[0], -1)  # flatten all dimensions except batch
        x = jax.nn.relu(self.fc1(x))
        x = jax.nn.relu(self.fc2(x))
        return self.fc3(x)


@nnx.jit
def train_step(net, optimizer, inputs, labels):
    def loss_fn(net):
        outputs = net(inputs)
        loss = optax.softmax_cross_entropy_with_integer_labels(outputs, labels, axis=1).mean()
        return loss
    loss, grads = nnx.value_and_grad(loss_fn)(net)
    optimizer.update(net, grads)
    return loss


def train(net, trainloader, epochs=2):
    optimizer = nnx.Optimizer(net, optax.sgd(0.001, momentum=0.8), wrt=nnx.Param)

    for epoch in range(epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            inputs, labels = data

            # zero the parameter gradients

            # forward + backward + optimize
            loss = train_step(net, optimizer, inputs, labels)

            # print statistics
            running_loss += loss.item()
            if i % 2000 == 1999:  # print every 2000 mini-batches
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 2000:.3f}")
                running_loss = 0.0
    return running_loss


def accuracy(net, testloader):
    correct = 0
    total = 0
    # since we're not training, we don't need to calculate the gradients for our outputs
    for data in testloader:
        images, labels = data
        # calculate outputs by running images through the network
        outputs = net(images)
        # the class with the highest energy is what we choose as prediction
        _, predicted = (jnp.max(outputs, axis=1), jnp.argmax(outputs, axis=1))
        total += labels.shape[0]
        correct += (predicted == labels).sum().item()
    return correct / total
