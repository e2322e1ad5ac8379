"""gen-ci: hardened CI pipelines for Docker images, rendered from one spec."""

__version__ = "0.14.0"
