"""The fidelity suite's flytekit project: registered with ``pyflyte register`` into the sandbox, run there and checked
with flytekit's FlyteRemote (``tests/sandbox/fidelity``)."""
