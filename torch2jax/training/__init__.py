"""Training code: losses, optimizers and schedulers with torch's exact semantics, and the
translation of ``zero_grad()`` / ``backward()`` / ``step()`` into a jitted NNX + Optax step."""
