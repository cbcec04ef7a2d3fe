"""Real data sets and their loaders. Imports nothing else of nnzoo."""
from .store import (GENERATED_ON_FIRST_USE, DataError, DataMissing, data_root, install, install_command,
                    is_installed)
from .sentiment import SENTENCE_DATASETS, SentenceSplits, load_sentences
from .text import TEXT_DATASETS, CharCorpus, load_text
from .translation import PAIR_DATASETS, PairSplits, load_pairs
from .english_text import WORD_DATASETS
from .babi import QA_DATASETS
from .go import GO_DATASETS
from .captions import CAPTION_DATASETS, CaptionSet, digit_scenes, load_emoji, moving_digits
from .vision import IMAGE_DATASETS, ImageSplits, load_images, read_idx, read_image, write_image_grid

__all__ = ["GENERATED_ON_FIRST_USE", "DataError", "DataMissing", "data_root", "install", "install_command", "is_installed", "IMAGE_DATASETS", "write_image_grid",
           "ImageSplits", "load_images", "read_idx", "read_image", "TEXT_DATASETS",
           "CharCorpus", "load_text", "PAIR_DATASETS", "PairSplits", "load_pairs", "SENTENCE_DATASETS",
           "SentenceSplits", "load_sentences", "WORD_DATASETS", "QA_DATASETS", "GO_DATASETS",
           "CAPTION_DATASETS", "CaptionSet", "digit_scenes", "moving_digits", "load_emoji"]
