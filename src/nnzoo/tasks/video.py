"""Video classification: a clip -> a label for every frame (synchronised many to many) or one for the whole clip
(many to one). Used by moving-digits-classify (models/video_classifier.py; `mode=many-to-one` switches).

The data are moving-digits clips (data/captions.py, drawn as tasks/caption.py draws them: 4,000 / 200 / 500
clips, `train_subset`, `val_size`, `test_size`); a frame's label is the way the first-named digit moves from
it (up, down, left, right: it changes where the digit bounces off an edge), the clip's label the way it moves
first. Both modes are scored on both:

- frame accuracy: a synchronised model's label of each frame; a many-to-one model has one answer per clip,
  counted at every frame, so it loses the frames after a bounce.
- clip accuracy: a many-to-one model's answer; a synchronised model's label of frame CLIP_FRAME, the first it
  labels after seeing a move (frame 0 alone shows no motion, and the data keep the first direction for at
  least data.captions.MIN_RUN moves, so that frame's label is the clip's).
- bounced-frame accuracy: the frames whose direction is not the clip's first one, where the two differ most.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import UserError
from ..eval import metrics
from ..train.device import autocast
from .caption import BATCH, CaptionSetTask, percent

CLIP_FRAME = 1
"""The frame whose synchronised label answers for the clip (see the module's docstring)."""
N_CLIPS = 6
"""Test clips kept with their per-frame labels for the pictures."""


class Task(CaptionSetTask):
    kind = "video classification"
    unit = "clip"
    default_data = "moving-digits"

    def load(self, tcfg):
        data = super().load(tcfg)
        if data.frame_labels is None:
            raise UserError(f"data={data.name} has no labelled frames; video classification reads "
                            "data=moving-digits")
        return data

    def make_batch(self, data, idx, device, tcfg):
        batch = {"x": data.x["train"][idx], "frame_labels": data.frame_labels["train"][idx],
                 "clip_labels": data.clip_labels["train"][idx]}
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    @torch.no_grad()
    def predict_labels(self, model, x, device, amp_dtype=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(frame labels N, T; clip labels N; the raw logits) of every clip. The logits' shape says the mode:
        N, T, K per frame (sync) or N, K per clip (many-to-one)."""
        model.eval()
        outs = []
        for i in range(0, len(x), BATCH):
            with autocast(device, amp_dtype):
                outs.append(model(x[i:i + BATCH].to(device)).float().cpu())
        logits = torch.cat(outs)
        pred = logits.argmax(-1)
        if pred.dim() == 2:  # a label per frame; the clip's is frame CLIP_FRAME's
            return pred, pred[:, CLIP_FRAME], logits
        return pred[:, None].expand(-1, x.size(1)), pred, logits  # one per clip, counted at every frame

    def _scores(self, model, data, split, device, amp_dtype=None) -> tuple[dict, torch.Tensor, torch.Tensor]:
        x, frames, clips = data.x[split], data.frame_labels[split], data.clip_labels[split]
        frame_pred, clip_pred, logits = self.predict_labels(model, x, device, amp_dtype)
        target = frames if logits.dim() == 3 else clips  # what the model was trained on
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1))
        bounced = frames != clips[:, None]
        hit = frame_pred == frames
        return {"loss": float(loss), "frame_accuracy_percent": percent(hit.flatten().tolist(), hit.numel()),
                "clip_accuracy_percent": percent((clip_pred == clips).tolist(), len(clips)),
                "bounced_frame_accuracy_percent": percent(hit[bounced].tolist(), int(bounced.sum()))}, \
            frame_pred, clip_pred

    def evaluate(self, model, data, split, device, amp_dtype=None) -> dict:
        return self._scores(model, data, split, device, amp_dtype)[0]

    def test_report(self, model, data, device) -> tuple[dict, dict]:
        """Frame, clip and bounced-frame accuracy on the test clips, the frames' confusion matrix and a few
        clips with their labels per frame."""
        scores, frame_pred, clip_pred = self._scores(model, data, "test", device)
        frames = data.frame_labels["test"]
        figures = {f"test_{k}": round(v, 4) if k == "loss" else v for k, v in scores.items()}
        sync = model.cfg.mode == "sync"
        figures.update({"mode": model.cfg.mode, "clip_answer": f"frame {CLIP_FRAME}'s label" if sync else "its own",
                        "test_clips": len(frames), "test_frames": frames.numel(),
                        "test_bounced_frames": int((frames != data.clip_labels["test"][:, None]).sum()),
                        "train_clips": len(data.x["train"]), "label_names": ", ".join(data.label_names)})
        k = len(data.label_names)
        art = {"confusion": metrics.confusion_matrix(frame_pred.flatten(), frames.flatten(), k),
               "classes": np.array(data.label_names), "clip_inputs": data.x["test"][:N_CLIPS].numpy(),
               "clip_frame_true": frames[:N_CLIPS].numpy(), "clip_frame_pred": frame_pred[:N_CLIPS].numpy(),
               "clip_true": data.clip_labels["test"][:N_CLIPS].numpy(), "clip_pred": clip_pred[:N_CLIPS].numpy()}
        return figures, art
