"""flytekit code run by the sandbox's flytekit runner in tests."""
