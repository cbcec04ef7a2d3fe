"""Real data sets and their loaders. Imports nothing else of nnzoo."""
from .store import DataError, data_root, install, install_command, is_installed
from .text import TEXT_DATASETS, CharCorpus, load_text
from .vision import IMAGE_DATASETS, ImageSplits, load_images, read_idx, read_image

__all__ = ["DataError", "data_root", "install", "install_command", "is_installed", "IMAGE_DATASETS",
           "ImageSplits", "load_images", "read_idx", "read_image", "TEXT_DATASETS",
           "CharCorpus", "load_text"]
