"""Pixels to sentences (task `caption`: one to many, and video to text) and video classification (task `video`):
Show and Tell on digit scenes and emoji, S2VT against its mean-pooled-frames baseline, and the synchronised and
many-to-one classifiers on moving digits. The sets are made by data/captions.py; on the sets drawn from MNIST
the image encoder's first two conv blocks start from nnzoo's mnist-cnn (tasks/caption.py), so the digit
recipes keep its channels [16, 32] and kernel 5 in front.

Speeds behind the settings (one CPU thread, bf16 autocast on a CPU with bf16 units, batch 64): the captioner
trains at ~700 scenes/s (an epoch of 20,000 in ~30 s, fp32 about half that); S2VT and the video classifier at
~20-35 clips/s (20 frames each). The digit-scenes captioner's first 8 epochs gave test BLEU-4 0.56 with
grammar, sizes and relations right and the digits often wrong: feeding the image only as the LSTM's first
input leaves a plateau of a few hundred steps before the caption's digits follow the image (on one-digit
scenes: chance until ~step 400, while a linear classifier on the same encoder reached 92 % by step 150), so
the recipe trains 40 epochs (~20 minutes) rather than stopping early. Both image recipes also start the LSTM's
state from the image (`image_state=true`, not in Show and Tell): in a 1,500-step trial on digit scenes its
training loss fell to 0.52 by step 250 and 0.48 by step 500, where the paper's zero start was at 0.65 and
0.59 (0.48 only at step 1,500); dropout 0 or a forget-gate bias of 1 made no such difference. time_limit=29 (minutes) caps each on a
slower machine, the cosine schedule then annealing by the clock.
"""
from nnzoo.recipes import Recipe

_CAPTION_TRAIN = dict(epochs=40, batch_size=64, lr=2e-3, schedule="cosine", warmup=0.02, grad_clip=5.0,
                      log_every=50, time_limit=29.0)
# the tour's: one epoch of 2,000 scenes; the report decodes 200 test scenes
_CAPTION_QUICK = dict(epochs=1, time_limit=0.0, train_subset=2000, val_size=100, test_size=200)
# the emoji set is ~3,000 training images: an epoch is seconds, so many more of them (the tour: 3)
_EMOJI_TRAIN = dict(_CAPTION_TRAIN, epochs=150)
# clips cost 20 frames each: batch 16 gives ~250 steps an epoch of 4,000 clips
_VIDEO_TRAIN = dict(epochs=10, batch_size=16, lr=1e-3, schedule="cosine", warmup=0.02, grad_clip=5.0, log_every=25,
                    time_limit=29.0)
_VIDEO_QUICK = dict(epochs=1, time_limit=0.0, train_subset=400, val_size=50, test_size=50)
_FRAMES = dict(channels=[16, 32])  # mnist-cnn's two blocks only: a third costs ~25 % more per frame

RECIPES = [
    Recipe("digit-scenes-caption", "caption", "captioner", "digit-scenes",
           "Show and Tell on scenes of 1-3 MNIST digits: a CNN (from mnist-cnn) as the first input of an LSTM 256",
           model_config=dict(channels=[16, 32, 64], embed=128, hidden=256, dropout=0.2, image_state=True),
           train=_CAPTION_TRAIN,
           quick=_CAPTION_QUICK, metric="test_bleu4_beam3", target=0.90,
           reference="Vinyals et al. 2015: BLEU-4 27.7 % on COCO with beam 3; ours on generated digit scenes"),
    Recipe("emoji-caption", "caption", "captioner", "emoji",
           "Show and Tell on 64x64 Twemoji: each image's Unicode name, tested on unseen skin-tone / gender "
           "combinations",
           model_config=dict(in_channels=3, channels=[16, 32, 64], embed=128, hidden=256, dropout=0.2,
                             image_state=True),
           train=_EMOJI_TRAIN, quick=dict(_CAPTION_QUICK, train_subset=0, epochs=3),
           metric="test_exact_match_beam3_percent", target=50.0, reference="no published figure"),
    Recipe("moving-digits-s2vt", "caption", "s2vt", "moving-digits",
           "S2VT: two stacked LSTMs read every other frame's CNN features (10 of 20), then write how each digit moves",
           model_config=dict(_FRAMES, features=128, embed=64, hidden=256, dropout=0.2, frame_step=2),
           train=dict(_VIDEO_TRAIN, epochs=30, train_subset=8000), quick=_VIDEO_QUICK,
           metric="test_exact_match_beam3_percent", target=80.0,
           reference="Venugopalan et al. 2015: S2VT 29.2 METEOR on MSVD (RGB frames, VGG), above the mean-pooled "
                     "model; ours on generated clips"),
    Recipe("moving-digits-meanpool", "caption", "s2vt", "moving-digits",
           "the baseline: S2VT's decoder on the mean of the frames' features, blind to their order",
           model_config=dict(_FRAMES, features=128, embed=64, hidden=256, dropout=0.2, mean_pool=True),
           train=_VIDEO_TRAIN, quick=_VIDEO_QUICK, metric="test_direction_accuracy_percent",
           reference="Venugopalan et al. 2015a's mean-pooled frames, the model S2VT is compared with: a clip and its "
                     "reverse get one caption, so at most half the directions"),
    Recipe("moving-digits-classify", "video", "video-classifier", "moving-digits",
           "an LSTM over frame features labels each frame's motion (sync; mode=many-to-one: one label per clip)",
           model_config=dict(_FRAMES, features=128, hidden=128, dropout=0.2, mode="sync"), train=_VIDEO_TRAIN,
           quick=_VIDEO_QUICK, metric="test_frame_accuracy_percent",
           reference="no published figure (the lectures' synchronised many-to-many and many-to-one scenarios)"),
]
