"""Reports built from run folders alone: plots (numpy + matplotlib) and a static HTML page.

Nothing here builds a model or imports torch, so any report can be rebuilt from the files a run left behind.
"""
