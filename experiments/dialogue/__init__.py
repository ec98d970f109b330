"""DialogueRNN (Majumder et al. 2019) on a synthetic conversation task with per-utterance labels."""
