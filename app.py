"""Hugging Face Spaces entry point: the same app as `kenbron serve`."""

from ui.app import launch

if __name__ == "__main__":
    launch()
