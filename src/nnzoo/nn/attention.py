"""Attention over a variable-length memory, written from the equations.

Shapes: B batch, S memory positions (source words), K key / memory width, Q query width, A attention width.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class AdditiveAttention(nn.Module):
    """Bahdanau, Cho & Bengio (2015), "Neural machine translation by jointly learning to align and translate":

        e_tj     = v^T tanh(W s_{t-1} + U h_j)        score of memory position j for query s_{t-1}
        alpha_tj = exp(e_tj) / sum_k exp(e_tk)        over the valid positions k only
        c_t      = sum_j alpha_tj h_j                 the context vector

    U h_j does not depend on the query, so `keys` computes it once per memory and every step reuses it.
    Padded positions get e = -inf before the softmax, so their weight is exactly 0 and the weights of the
    real positions sum to 1.
    """

    def __init__(self, query_size: int, memory_size: int, attn_size: int):
        super().__init__()
        self.W = nn.Linear(query_size, attn_size, bias=False)
        self.U = nn.Linear(memory_size, attn_size)  # its bias is the score's bias b, added once
        self.v = nn.Linear(attn_size, 1, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        # U h_j + b for every position: B, S, K -> B, S, A
        return self.U(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """query s_{t-1}: B, Q; keys: B, S, A (from `keys`); memory h: B, S, K; mask: B, S (True = a real
        position, at least one per row) -> context c_t (B, K) and weights alpha_t (B, S)."""
        # e_tj = v^T tanh(W s_{t-1} + U h_j)
        e = self.v(torch.tanh(self.W(query)[:, None, :] + keys)).squeeze(-1)  # B, S
        # alpha_tj = softmax_j(e_tj) over real positions: padding scores -inf, weight 0
        alpha = F.softmax(e.masked_fill(~mask, float("-inf")), dim=-1)  # B, S
        # c_t = sum_j alpha_tj h_j
        context = torch.bmm(alpha[:, None, :], memory).squeeze(1)  # B, K
        return context, alpha
