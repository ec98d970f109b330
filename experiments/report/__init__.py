"""Tables and learning-curve plots from the results.json files of training runs."""
