"""Neural Turing Machine tasks (Graves et al. 2014): copy, repeat copy, associative recall."""
